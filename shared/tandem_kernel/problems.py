"""RFC 9457 problem details for every error a service returns. Registered once, by `create_app`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tandem_kernel.errors import ConcurrencyError, DomainError

__all__ = ["ServiceUnavailable", "install_problem_handlers", "problem"]

log = logging.getLogger("tandem.http")

PROBLEM_JSON = "application/problem+json"


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

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
