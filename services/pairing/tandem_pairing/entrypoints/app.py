"""Pairing's composition root: what the service is made of, for the kernel's runtime.

tandem serve pairing          # or: uvicorn --factory tandem_pairing.entrypoints.app:create
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

from tandem_pairing.adapters.read_model import pairs_projection
from tandem_pairing.application import enrollment_subscription
from tandem_pairing.application.fit import fit_subscription
from tandem_pairing.application.jobs import job_kinds
from tandem_pairing.domain.events import PAIRING_EVENTS
from tandem_pairing.entrypoints.demo import load_demo
from tandem_pairing.entrypoints.http_pairs import pairs_router
from tandem_pairing.entrypoints.http_people import people_router
from tandem_pairing.entrypoints.http_programs import programs_router
from tandem_pairing.entrypoints.http_rounds import rounds_router

__all__ = ["create", "registry", "service"]


def registry() -> EventRegistry:
    """Every event pairing writes; other services decode its topic with this registry (or their own readers)."""
    return EventRegistry(PAIRING_EVENTS)


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    assert runtime.store is not None
    return [enrollment_subscription(runtime.store), fit_subscription(runtime.store)]


service = ServiceSpec(
    name="pairing",
    title="Tandem pairing",
    description="Who mentors whom: optimal, explainable junior-senior pairing rounds, proposals and rotations.",
    registry=registry(),
    migrations=[Migrations("tandem_pairing")],
    routers=[rounds_router, pairs_router, programs_router, people_router],
    subscriptions=subscriptions,
    projections=[pairs_projection],
    jobs=job_kinds,
    contracts_dir=Path(__file__).resolve().parents[2] / "contracts",
    extras={"demo": load_demo, "demo_after": ("enrollment",)},
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app (settings from the environment unless given)."""
    return create_app(service, settings)
