"""Enrollment's composition root: what the service is made of, for the kernel's runtime.

tandem serve enrollment          # or: uvicorn --factory tandem_enrollment.entrypoints.app:create
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from fastapi import FastAPI
from tandem_kernel.api import create_app
from tandem_kernel.database import Migrations
from tandem_kernel.events import EventRegistry
from tandem_kernel.jobs import JobContext, JobKind
from tandem_kernel.runtime import Runtime, ServiceSpec
from tandem_kernel.settings import ServiceSettings

from tandem_enrollment.adapters.read_model import participants_projection
from tandem_enrollment.application import imports
from tandem_enrollment.domain import ENROLLMENT_EVENTS
from tandem_enrollment.entrypoints.demo import load_demo
from tandem_enrollment.entrypoints.http import enrollments_router, programs_router
from tandem_enrollment.entrypoints.http_imports import imports_router
from tandem_enrollment.entrypoints.http_people import people_router
from tandem_enrollment.entrypoints.http_vocabulary import vocabulary_router

__all__ = ["create", "job_kinds", "registry", "service"]


def registry() -> EventRegistry:
    """Every event enrollment writes; other services decode its topic with this registry too."""
    return EventRegistry(ENROLLMENT_EVENTS)


def job_kinds(runtime: Runtime) -> list[JobKind]:
    """Enrollment's background work: imports, carried out by whichever replica is free."""
    store = runtime.store
    assert store is not None
    # Half the pool at most, so that HTTP requests still find connections during an import.
    concurrency = max(1, runtime.settings.database_pool_max // 2)

    async def run_import(context: JobContext) -> None:
        await imports.run(store, UUID(context.payload["job_id"]), concurrency=concurrency)

    return [JobKind(imports.IMPORT_JOB, run_import, max_attempts=5)]


service = ServiceSpec(
    name="enrollment",
    title="Tandem enrollment",
    description="Programs (cohorts) of reverse mentoring and the juniors and seniors who enroll in them.",
    registry=registry(),
    migrations=[Migrations("tandem_enrollment")],
    routers=[programs_router, enrollments_router, imports_router, people_router, vocabulary_router],
    projections=[participants_projection],
    jobs=job_kinds,
    contracts_dir=Path(__file__).resolve().parents[2] / "contracts",
    extras={"demo": load_demo},
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app (settings from the environment unless given)."""
    return create_app(service, settings)
