"""The outermost layer of every service's HTTP app: what no route should ever have to think about.

- A NUL character can be stored nowhere in PostgreSQL (text, jsonb), so one in a JSON body, a query
  parameter or the path is answered at once with a 422 that names where it is, before any route,
  any read or any append runs.
- An error no handler expected is answered with a 500 problem document and logged with its
  traceback, and the exception goes no further: left to Starlette's outermost middleware it would
  be re-raised to the server, which closes the client's keep-alive connection.
- The server keeps an idle connection open longer than clients keep theirs (`HTTP_KEEP_ALIVE_SECONDS`).

Pure ASGI (no `BaseHTTPMiddleware`), so streaming responses and background tasks pass untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem_kernel.problems import problem

__all__ = ["HTTP_KEEP_ALIVE_SECONDS", "RequestGuard"]

log = logging.getLogger("tandem.http")

HTTP_KEEP_ALIVE_SECONDS = 75
"""How long the server keeps an idle keep-alive connection open: longer than any client keeps one in
its pool (httpx: 5 s, load balancers: 60 s). At uvicorn's default, 5 s, the two timers raced: a client
sending on a connection idle for about 5 s met the server closing it, and the request was lost
("Server disconnected without sending a response", ReadError), more often the busier the machine
(found by `tandem simulate`: sessions and evaluation reads dropped mid-run)."""

MAX_SCANNED_BODY = 64 * 1024 * 1024
_NUL = "\x00"


class RequestGuard:
    """ASGI middleware: NUL characters refused with 422, unexpected errors answered with 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _nul_in_url(scope)
        body: bytes | None = None
        if refusal is None and _is_json(scope):
            body = await _read_body(receive)
            refusal = _nul_in_json(body)
        if refusal is not None:
            await _send(send, _refused(*refusal))
            return
        if body is not None:
            receive = _replay(body, receive)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # the status line is out: nothing better to do than end the response
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await _send(send, problem(500, "Internal error", "an unexpected error occurred; it has been logged"))


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _nul_in_url(scope: Scope) -> tuple[str, str] | None:
    if _NUL in scope.get("path", ""):
        return "path", ""
    raw = scope.get("query_string", b"")
    if b"%00" in raw or b"\x00" in raw:
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if _NUL in name or _NUL in value:
                return "query", name.replace(_NUL, "")
        return "query", ""
    return None


def _nul_in_json(body: bytes) -> tuple[str, str] | None:
    # Fast path: a JSON text can only hold a NUL escaped (\u0000) or raw (itself invalid JSON).
    if len(body) > MAX_SCANNED_BODY or (b"\\u0000" not in body and b"\x00" not in body):
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON at all: the route's own validation says so
    for path in _nul_paths(document, ()):
        return "body", ".".join(path)
    return None


def _nul_paths(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, str):
        if _NUL in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if _NUL in key:
                yield (*path, key.replace(_NUL, ""))
            yield from _nul_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*path, str(index)))


def _refused(location: str, field: str) -> Any:
    where = f"{location} {field}".strip() if field else location
    return problem(
        422,
        "Invalid request",
        f"{where}: contains a NUL character",
        type_="https://tandem.example/problems/invalid-request",
        errors=[{"field": field, "location": location, "message": "contains a NUL character"}],
    )


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read ahead, then whatever the client sends next (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send(send: Send, response: Any) -> None:
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
