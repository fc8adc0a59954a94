"""Reporting's composition root: what the service is made of, for the kernel's runtime.

tandem serve reporting          # or: uvicorn --factory tandem_reporting.entrypoints.app:create
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from tandem_kernel.api import create_app
from tandem_kernel.consumers import Subscription
from tandem_kernel.events import EventRegistry
from tandem_kernel.runtime import Runtime, ServiceSpec
from tandem_kernel.settings import ServiceSettings

from tandem_reporting.adapters.projection import programs_projection
from tandem_reporting.application import subscriptions as source_subscriptions
from tandem_reporting.entrypoints.dashboard import dashboard_router
from tandem_reporting.entrypoints.demo import load_demo
from tandem_reporting.entrypoints.http_ops import ops_router
from tandem_reporting.entrypoints.http_reports import reports_router

__all__ = ["create", "service"]


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    return source_subscriptions()


service = ServiceSpec(
    name="reporting",
    title="Tandem reporting",
    description="Enterprise-wide figures from every service's events: reports for HR and internal platforms, "
    "dashboards, and the platform's health for the people who run it. Owns no commands, publishes nothing.",
    registry=EventRegistry(),
    routers=[reports_router, ops_router, dashboard_router],
    subscriptions=subscriptions,
    projections=[programs_projection],
    extras={"demo": load_demo, "demo_after": ("enrollment", "pairing", "sessions", "evaluation")},
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app (settings from the environment unless given)."""
    return create_app(service, settings)
