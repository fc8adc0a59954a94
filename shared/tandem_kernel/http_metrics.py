"""Requests counted and timed per route template (`/programs/{program_id}`, never the concrete path,
so the series stay few), for the error-rate and latency alerts. Pure ASGI, like `http_guard`."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tandem_kernel.metrics import HTTP_REQUESTS, HTTP_SECONDS

__all__ = ["RequestMetrics"]

_UNMATCHED = "unmatched"  # a path no route serves: one series, whatever was asked


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or _UNMATCHED
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)
