"""RFC 9457 problem details for every error a service returns. Registered once, by `create_app`."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tandem_kernel.errors import ConcurrencyError, DomainError

__all__ = ["ServiceUnavailable", "install_problem_handlers", "problem"]

log = logging.getLogger("tandem.http")

PROBLEM_JSON = "application/problem+json"

DATABASE_UNREACHABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # the connection dropped (a restart, pg_terminate_backend)
    asyncpg.InterfaceError,  # ... noticed by the client first
    asyncpg.InternalClientError,  # ... mid-operation, on a connection asyncpg had not yet retired
    asyncpg.OperatorInterventionError,  # the server is shutting down or not accepting connections yet
    asyncpg.TooManyConnectionsError,
    ConnectionError,  # refused or reset before PostgreSQL answered
)
"""What a request meets when PostgreSQL is gone for a moment: the request did nothing (its transaction
rolled back), and the same request succeeds once the pool has reconnected, so it is a 503 with
Retry-After, not a 500 (which says "a defect, do not retry")."""


class ServiceUnavailable(Exception):
    """A dependency (PostgreSQL, the broker) is not reachable yet: HTTP 503, try again later."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank", **extensions: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extensions}
    headers = {"Retry-After": "2"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _type(code: str) -> str:
    return f"https://tandem.example/problems/{code}"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(part) for part in item["loc"] if part not in ("body", "query", "path", "header")),
                "location": item["loc"][0] if item["loc"] else None,
                "message": item["msg"],
            }
            for item in error.errors()
        ]
        detail = "; ".join(f"{e['field'] or e['location']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, type_=_type("invalid-request"), errors=errors)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> JSONResponse:
        extensions: dict[str, Any] = {"code": error.code}
        if error.field:
            extensions["errors"] = [{"field": error.field, "message": error.detail}]
        title = {404: "Not found", 409: "Conflict"}.get(error.status, "Rule violated")
        return problem(error.status, title, error.detail, type_=_type(error.code), **extensions)

    @app.exception_handler(ConcurrencyError)
    async def concurrency_conflict(request: Request, error: ConcurrencyError) -> JSONResponse:
        return problem(
            409,
            "Concurrent update",
            f"{error}; reload and try again",
            type_=_type("concurrency-conflict"),
            code="concurrency-conflict",
        )

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, error: ServiceUnavailable) -> JSONResponse:
        return problem(503, "Service unavailable", error.detail, type_=_type("unavailable"))

    async def database_unreachable(request: Request, error: Exception) -> JSONResponse:
        if isinstance(error, asyncpg.DataError):  # an InterfaceError too, but a defect: bad query arguments
            return await unexpected(request, error)
        log.warning("database unreachable on %s %s: %r", request.method, request.url.path, error)
        detail = "the database dropped the connection; try again in a moment"
        return problem(503, "Service unavailable", detail, type_=_type("unavailable"))

    for unreachable in DATABASE_UNREACHABLE:
        app.add_exception_handler(unreachable, database_unreachable)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
