"""Load shedding: a process already working on as many requests as it should answers the next one
at once with 503 and `Retry-After`, instead of queueing it behind the others.

An event loop past its CPU does not refuse work by itself: every request is accepted, all of them
share the core, and each takes as long as all of them together — past the callers' timeouts,
which then retry into the same queue. A bounded number in flight (`HTTP_MAX_IN_FLIGHT`, per
process) keeps the latency of what is accepted near what the process can do, and tells the rest at
once to come back (a 503 is the platform's "retry": `tandem simulate` retries it, `make load`
counts it by status), where a replica with room may take it.

A request counts until its answer is sent, waiting included: a reporting read that waits for an
event to be applied (`after=`, at most 10 s) holds its place meanwhile — raise the chart's
`http.maxInFlight` for reporting if integrators wait in numbers.

The probes and `/metrics` are always answered: a busy process is not a dead one, and taking it
out of its Service for being busy would pour its load onto the others.

Shed requests are counted (`tandem_http_shed_total`, alert `TandemShedding`), logged at most once
per `LOG_EVERY_SECONDS` with how many, and answered like any 503 (problem+json).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from tandem_kernel.metrics import HTTP_IN_FLIGHT, HTTP_SHED
from tandem_kernel.problems import problem

__all__ = ["ALWAYS_ANSWERED", "LOG_EVERY_SECONDS", "LoadShedder"]

log = logging.getLogger("tandem.http")

ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz", "/metrics"})
LOG_EVERY_SECONDS = 10.0


class LoadShedder:
    """ASGI middleware: at most `max_in_flight` requests at once; the others get a 503 at once."""

    def __init__(self, app: ASGIApp, *, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._shed_since_log = 0
        self._logged_at = float("-inf")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ANSWERED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await self._shed(scope, send)
            return
        self.in_flight += 1
        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            HTTP_IN_FLIGHT.dec()

    async def _shed(self, scope: Scope, send: Send) -> None:
        HTTP_SHED.inc()
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_SECONDS:
            log.warning(
                "overloaded: %d request(s) answered 503 since the last report (%d in flight, the limit;"
                " the latest %s %s)",
                self._shed_since_log,
                self.in_flight,
                scope.get("method"),
                scope.get("path"),
            )
            self._shed_since_log, self._logged_at = 0, now
        response = problem(
            503,
            "Overloaded",
            f"this replica is answering {self.in_flight} requests, as many as it takes at once; try again shortly",
            type_="https://tandem.example/problems/overloaded",
        )
        await send({"type": "http.response.start", "status": 503, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body, "more_body": False})
