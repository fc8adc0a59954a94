"""Evaluation's composition root: what the service is made of, for the kernel's runtime.

tandem serve evaluation          # or: uvicorn --factory tandem_evaluation.entrypoints.app:create
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from tandem_kernel.api import create_app
from tandem_kernel.consumers import Subscription
from tandem_kernel.database import Migrations
from tandem_kernel.events import EventRegistry
from tandem_kernel.runtime import Runtime, ServiceSpec
from tandem_kernel.settings import ServiceSettings

from tandem_evaluation.application.jobs import job_kinds
from tandem_evaluation.application.policies import (
    enrollment_subscription,
    pairing_subscription,
    sessions_subscription,
)
from tandem_evaluation.domain.events import EVALUATION_EVENTS
from tandem_evaluation.entrypoints.demo import load_demo
from tandem_evaluation.entrypoints.http_pairs import pairs_router
from tandem_evaluation.entrypoints.http_participants import participants_router
from tandem_evaluation.entrypoints.http_programs import programs_router

__all__ = ["create", "registry", "service", "subscriptions"]


def registry() -> EventRegistry:
    """Every event evaluation writes."""
    return EventRegistry(EVALUATION_EVENTS)


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    assert runtime.store is not None
    store = runtime.store
    return [enrollment_subscription(store), pairing_subscription(store), sessions_subscription(store)]


service = ServiceSpec(
    name="evaluation",
    title="Tandem evaluation",
    description="What the mentoring changed: skills, practices, feedback, and each program's impact against a "
    "comparison group, with honest confidence intervals.",
    registry=registry(),
    migrations=[Migrations("tandem_evaluation")],
    routers=[participants_router, pairs_router, programs_router],
    subscriptions=subscriptions,
    jobs=job_kinds,
    contracts_dir=Path(__file__).resolve().parents[2] / "contracts",
    extras={"demo": load_demo, "demo_after": ("enrollment", "pairing")},
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app (settings from the environment unless given)."""
    return create_app(service, settings)
