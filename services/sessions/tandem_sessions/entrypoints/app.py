"""Sessions' composition root: what the service is made of, for the kernel's runtime.

tandem serve sessions          # or: uvicorn --factory tandem_sessions.entrypoints.app:create
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

from tandem_sessions.application.invitations import invitations_subscription
from tandem_sessions.application.jobs import job_kinds
from tandem_sessions.application.policies import enrollment_subscription, pairing_subscription
from tandem_sessions.domain.events import SESSIONS_EVENTS
from tandem_sessions.entrypoints.demo import load_demo
from tandem_sessions.entrypoints.http_agenda import agenda_router
from tandem_sessions.entrypoints.http_calendars import calendars_router
from tandem_sessions.entrypoints.http_sessions import sessions_router
from tandem_sessions.settings import InvitationSettings

__all__ = ["create", "registry", "service"]


def registry() -> EventRegistry:
    """Every event sessions writes; other services decode its topic with this registry (or their own readers)."""
    return EventRegistry(SESSIONS_EVENTS)


DEVELOPMENT_MAIL_DIR = ".tandem/mail"
"""Where `make run` keeps the invitations (as .eml files) when no SMTP server is configured."""


def invitation_settings(runtime: Runtime) -> InvitationSettings:
    settings = InvitationSettings()
    if not settings.enabled and runtime.settings.environment == "development":
        return settings.model_copy(update={"mail_dir": DEVELOPMENT_MAIL_DIR})
    return settings


def subscriptions(runtime: Runtime) -> Sequence[Subscription]:
    assert runtime.store is not None
    found = [enrollment_subscription(runtime.store), pairing_subscription(runtime.store)]
    mail = invitation_settings(runtime)
    if mail.enabled:
        found.append(invitations_subscription(mail))
    return found


service = ServiceSpec(
    name="sessions",
    title="Tandem sessions",
    description="Every meeting of every pair: planned across time zones, with agendas, attendance and calendars.",
    registry=registry(),
    migrations=[Migrations("tandem_sessions")],
    routers=[sessions_router, agenda_router, calendars_router],
    subscriptions=subscriptions,
    jobs=job_kinds,
    contracts_dir=Path(__file__).resolve().parents[2] / "contracts",
    extras={"demo": load_demo, "demo_after": ("pairing",)},
)


def create(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app (settings from the environment unless given)."""
    return create_app(service, settings)
