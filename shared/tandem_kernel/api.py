"""What every service's HTTP layer shares: dependencies, the ops endpoints, and the app factory."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from tandem_kernel.docs import serve_docs
from tandem_kernel.events import EventMetadata
from tandem_kernel.openapi import document_problems
from tandem_kernel.problems import ServiceUnavailable, install_problem_handlers
from tandem_kernel.runtime import Runtime, ServiceSpec
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore

__all__ = ["ActorDep", "IdempotencyKeyDep", "MetadataDep", "PoolDep", "RuntimeDep", "StoreDep", "create_app"]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _store(runtime: Annotated[Runtime, Depends(_runtime)]) -> EventStore:
    if runtime.store is None:
        raise ServiceUnavailable("the database is not reachable yet")
    return runtime.store


def _pool(store: Annotated[EventStore, Depends(_store)]) -> asyncpg.Pool:
    return store.pool


def _actor(
    x_actor: Annotated[
        str | None, Header(max_length=200, description="Who acts (the gateway forwards it).", examples=["hr:ada"])
    ] = None,
) -> str | None:
    # Authentication is the platform gateway's job; it forwards who is acting.
    return x_actor


def _metadata(
    actor: Annotated[str | None, Depends(_actor)],
) -> EventMetadata:
    return EventMetadata(actor=actor)


def _idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Makes a retry safe: the same key for the same operation gets the first answer again.",
            examples=["7d0c4e1a-retry"],
        ),
    ] = None,
) -> str | None:
    return idempotency_key


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
StoreDep = Annotated[EventStore, Depends(_store)]
PoolDep = Annotated[asyncpg.Pool, Depends(_pool)]
ActorDep = Annotated[str | None, Depends(_actor)]
MetadataDep = Annotated[EventMetadata, Depends(_metadata)]
IdempotencyKeyDep = Annotated[str | None, Depends(_idempotency_key)]

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
async def index(request: Request, runtime: RuntimeDep) -> ServiceIndex:
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
async def healthz() -> dict[str, str]:
    """Always `alive` while the process serves: for a liveness probe."""
    return {"status": "alive"}


class Readiness(BaseModel):
    """Whether the service can do its work, and each dependency's check."""

    ready: bool
    checks: dict[str, bool]


@ops.get(
    "/readyz",
    summary="PostgreSQL and the broker are reachable and the relay runs",
    responses={503: {"description": "Not ready: see which check fails", "model": Readiness}},
)
async def readyz(runtime: RuntimeDep) -> Readiness:
    """For a readiness probe: 200 when PostgreSQL, the broker and the relay all answer, else 503."""
    checks = await runtime.readiness()
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)  # type: ignore[return-value]


@ops.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus' text format: relay and projection lag, consumer outcomes, HTTP and database timings."""
    if runtime.relay is not None and runtime.store is not None:
        # Refresh the lag gauges at scrape time; a scrape during an outage still serves the rest.
        with contextlib.suppress(Exception):
            await runtime.relay.behind()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(spec: ServiceSpec, settings: ServiceSettings | None = None) -> FastAPI:
    """The FastAPI app of a service: its routers, the ops endpoints, problem+json errors, tracing,
    and the runtime started and stopped in the lifespan."""
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
    )
    app.state.runtime = runtime
    app.include_router(ops)
    for router in spec.routers:
        app.include_router(router)
    install_problem_handlers(app)
    document_problems(app)
    serve_docs(app)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app
