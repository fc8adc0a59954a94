"""Reporting's own settings (environment variables `REPORTING_*`), beside the kernel's
`ServiceSettings`: where the ops page finds the other services, and which consumer groups it watches."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from tandem_kernel.settings import ServiceSettings

__all__ = ["ReportingSettings", "peer_urls"]


class ReportingSettings(BaseSettings):
    """>>> REPORTING_PEERS='{"enrollment": "http://enrollment:8000"}' tandem serve reporting"""

    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    # Each service's base URL (its /readyz and /metrics); in development, guessed from `make run`'s ports.
    peers: dict[str, str] = Field(default_factory=dict)
    # Consumer groups and their topics, whose lag the ops page shows: each service's subscriptions
    # share one group named after it (`Subscription.consumer_group`).
    consumer_groups: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "evaluation": ["tandem.enrollment.v1", "tandem.pairing.v1", "tandem.sessions.v1"],
            "pairing": ["tandem.enrollment.v1", "tandem.evaluation.v1"],
            "reporting": ["tandem.enrollment.v1", "tandem.evaluation.v1", "tandem.pairing.v1", "tandem.sessions.v1"],
            "sessions": ["tandem.enrollment.v1", "tandem.pairing.v1"],
        }
    )


def peer_urls(settings: ServiceSettings, reporting: ReportingSettings, installed: list[str]) -> dict[str, str]:
    """The services' URLs: configured, or in development `make run`'s (one port each, in name order,
    reporting's own among them)."""
    if reporting.peers or settings.environment != "development":
        return dict(reporting.peers)
    names = sorted(installed)
    first = settings.http_port - names.index(settings.service_name) if settings.service_name in names else None
    if first is None:
        return {}
    return {name: f"http://127.0.0.1:{first + offset}" for offset, name in enumerate(names)}
