"""What every service's HTTP layer shares: dependencies, the ops endpoints, and the app factory."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from tandem_kernel.access import (
    OPERATOR,
    PROGRAM_ADMIN,
    Authenticated,
    allow,
    describe_rules,
    install_access_problems,
    public,
)
from tandem_kernel.commands import Idempotency
from tandem_kernel.docs import serve_docs
from tandem_kernel.errors import NotFound
from tandem_kernel.events import EventMetadata
from tandem_kernel.http_guard import RequestGuard
from tandem_kernel.http_shedding import LoadShedder
from tandem_kernel.http_telemetry import RequestTelemetry
from tandem_kernel.identity import Principal
from tandem_kernel.jobs import list_jobs
from tandem_kernel.metrics import SERVICE_READY
from tandem_kernel.openapi import document_problems
from tandem_kernel.problems import ServiceUnavailable, install_problem_handlers
from tandem_kernel.runtime import Runtime, ServiceSpec
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore

__all__ = [
    "IdempotencyDep",
    "MetadataDep",
    "NowDep",
    "PoolDep",
    "RuntimeDep",
    "StoreDep",
    "create_app",
]


# Every dependency is `async def`, even those that only look something up: FastAPI runs a plain
# `def` dependency in a worker thread, a hop per dependency per request (measured: most of what a
# cheap GET cost besides its query).


async def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _store(runtime: Annotated[Runtime, Depends(_runtime)]) -> EventStore:
    if runtime.store is None:
        raise ServiceUnavailable("the database is not reachable yet")
    return runtime.store


async def _pool(store: Annotated[EventStore, Depends(_store)]) -> asyncpg.Pool:
    return store.pool


async def _metadata(caller: Authenticated) -> EventMetadata:
    # The audit trail: every event a command appends records who caused it, in which role, and
    # through which client (a platform, or the application a person signed in to).
    return EventMetadata(actor=caller.subject, actor_role=caller.role, actor_client=caller.client_id)


async def _idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Makes a retry safe: the same key with the same request gets the first answer "
            "(a concurrent retry waits for it); the same key with another request is refused (422).",
            examples=["7d0c4e1a-retry"],
        ),
    ] = None,
) -> Idempotency | None:
    if idempotency_key is None:
        return None
    route = request.scope.get("route")
    operation = f"{request.method} {getattr(route, 'path', request.url.path)}"
    body = await request.body()
    try:
        content: object = json.loads(body) if body else None
    except ValueError:
        content = hashlib.sha256(body).hexdigest()
    what = {"path": request.url.path, "query": sorted(request.query_params.multi_items()), "body": content}
    return Idempotency.of(operation, idempotency_key, what)


async def _now(runtime: Annotated[Runtime, Depends(_runtime)]) -> datetime:
    return runtime.clock.now()


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
NowDep = Annotated[datetime, Depends(_now)]
"""The service's clock (see `clock`): what commands decide with as "now"."""
StoreDep = Annotated[EventStore, Depends(_store)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
MetadataDep = Annotated[EventMetadata, Depends(_metadata)]
IdempotencyDep = Annotated[Idempotency | None, Depends(_idempotency)]

ops = APIRouter(tags=["operations"])


class ServiceIndex(BaseModel):
    """What this service is and where to read about it (absolute links)."""

    name: str
    version: str
    docs: str
    redoc: str
    openapi: str
    health: str


@ops.get("/", summary="What this service is, and links to its docs and health")
async def index(request: Request, runtime: RuntimeDep, _: Annotated[None, public()]) -> ServiceIndex:
    """The service's name and version, and absolute links to its API docs, OpenAPI document and health."""
    base = str(request.base_url).rstrip("/")
    try:
        version = package_version(f"tandem-{runtime.spec.name}")
    except PackageNotFoundError:
        version = request.app.version
    return ServiceIndex(
        name=runtime.spec.name,
        version=version,
        docs=f"{base}/docs",
        redoc=f"{base}/redoc",
        openapi=f"{base}/openapi.json",
        health=f"{base}/readyz",
    )


@ops.get("/healthz", summary="The process is alive")
async def healthz(_: Annotated[None, public()]) -> dict[str, str]:
    """Always `alive` while the process serves: for a liveness probe."""
    return {"status": "alive"}


class ReadinessPublic(BaseModel):
    """Whether the service can do its work, each dependency's check, and what is wrong, in words."""

    ready: bool
    checks: dict[str, bool]
    problems: list[str]


@ops.get(
    "/readyz",
    summary="PostgreSQL and the broker are reachable, the relay, jobs and projections run",
    responses={503: {"description": "Not ready: `problems` says why", "model": ReadinessPublic}},
)
async def readyz(runtime: RuntimeDep, _: Annotated[None, public()]) -> ReadinessPublic:
    """For a readiness probe: 200 when every check passes, else 503 with the problems in words."""
    readiness = await runtime.readiness()
    SERVICE_READY.set(1 if readiness.ready else 0)
    body = {"ready": readiness.ready, "checks": readiness.checks, "problems": readiness.problems}
    return JSONResponse(body, status_code=200 if readiness.ready else 503)  # type: ignore[return-value]


@ops.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(runtime: RuntimeDep, _: Annotated[None, public()]) -> Response:
    """Prometheus' text format: relay and projection lag, consumer outcomes, jobs, HTTP and database timings."""
    # Refresh the gauges at scrape time; a scrape during an outage still serves the rest.
    for follower in [runtime.relay, *runtime.projection_runners]:
        if follower is not None and runtime.store is not None:
            with contextlib.suppress(Exception):
                await follower.behind()
    if runtime.jobs is not None:
        with contextlib.suppress(Exception):
            await runtime.jobs.refresh_gauges()
    SERVICE_READY.set(1 if (await runtime.readiness()).ready else 0)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class JobPublic(BaseModel):
    """A background job: what it is, where it stands, who runs it and when it last said so."""

    job_id: UUID
    kind: str
    key: str | None
    state: str
    attempts: int
    max_attempts: int
    run_at: datetime
    owner: str | None
    heartbeat_at: datetime | None
    lease_until: datetime | None
    progress: dict[str, Any] | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@ops.get("/ops/jobs", summary="Background jobs: state, attempts, owner and last heartbeat, newest first")
async def jobs_view(
    pool: PoolDep,
    _: Annotated[Principal, allow(OPERATOR)],
    state: Literal["queued", "running", "succeeded", "failed"] | None = None,
    kind: Annotated[str | None, Query(max_length=100, examples=["pairing.round"])] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JobPublic]:
    """The jobs of this service (any replica's), for operators: stuck ones show an old heartbeat."""
    return [JobPublic(**asdict(job)) for job in await list_jobs(pool, state=state, kind=kind, limit=limit)]


class AuditEntry(BaseModel):
    """One thing that happened: which event, to what, when, and who did it, in which role, through
    which client."""

    event_id: UUID
    event_type: str
    stream_id: str
    position: int
    occurred_at: datetime
    actor: str | None
    actor_role: str | None
    actor_client: str | None
    correlation_id: UUID | None
    causation_id: UUID | None


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_after: int | None


@ops.get("/audit", summary="Who did what to a program or a participant, in order", tags=["audit"])
async def audit(
    pool: PoolDep,
    caller: Annotated[Principal, allow(PROGRAM_ADMIN)],
    program_id: Annotated[UUID, Query(description="The program whose trail to read.")],
    participant_id: Annotated[
        UUID | None, Query(description="Only what concerns this participant (either side of a pair).")
    ] = None,
    after: Annotated[int | None, Query(ge=0, description="`next_after` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AuditPage:
    """This service's events about the program (or one participant of it), oldest first, with the
    authenticated subject, role and client that caused each. No personal data: the trail names ids."""
    if not caller.administers(program_id):
        raise NotFound("no such program")
    rows = await pool.fetch(_AUDIT, str(program_id), str(participant_id) if participant_id else None, after, limit + 1)
    items = [AuditEntry(**dict(row)) for row in rows[:limit]]
    return AuditPage(items=items, next_after=items[-1].position if len(rows) > limit else None)


_AUDIT = """
SELECT event_id, event_type, stream_id, position, occurred_at, actor, actor_role, actor_client,
       correlation_id, causation_id
FROM events
WHERE payload->>'program_id' = $1
  AND ($2::text IS NULL OR $2 IN (payload->>'participant_id', payload->>'junior_id', payload->>'senior_id'))
  AND ($3::bigint IS NULL OR position > $3)
ORDER BY position
LIMIT $4
"""


def create_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    """The FastAPI app of a service: its routers, the ops endpoints, problem+json errors, access
    rules, tracing, and the runtime started and stopped in the lifespan."""
    settings = settings or ServiceSettings(service_name=spec.name)
    runtime = Runtime(spec, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # The docs are served from the service's own assets (`docs`), not FastAPI's CDN pages.
    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="1.0.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # The request's span and metrics are `RequestTelemetry`'s: FastAPI's own would make a
        # second span (and build its attributes) for every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.include_router(ops)
    for router in spec.routers:
        app.include_router(router)
    install_problem_handlers(app)
    install_access_problems(app)
    document_problems(app)
    describe_rules(app)  # after document_problems: it adds to the document that one makes
    serve_docs(app)
    app.add_middleware(RequestGuard)
    app.add_middleware(LoadShedder, max_in_flight=settings.http_max_in_flight)
    # Outermost: counts the guard's and the shedder's answers too, and its span is current for
    # everything inside.
    app.add_middleware(RequestTelemetry)
    return app
