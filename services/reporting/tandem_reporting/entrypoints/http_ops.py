"""For the people who run Tandem: every service's readiness, relay lag, dead letters and last event,
and each consumer group's lag (`/ops/platform`); the dashboard's ops page draws it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
from fastapi import APIRouter
from faststream.kafka.security import parse_security
from tandem_kernel.access import OPERATOR, allow
from tandem_kernel.api import PoolDep, RuntimeDep
from tandem_kernel.cli import installed
from tandem_kernel.identity import Principal
from tandem_kernel.kafka import broker_security

from tandem_reporting.adapters import platform, queries
from tandem_reporting.entrypoints.settings import ReportingSettings, peer_urls

__all__ = ["ops_router"]

ops_router = APIRouter(prefix="/ops", tags=["operations"])


@ops_router.get("/platform", summary="Each service's readiness, relay lag, dead letters, last event; consumer lag")
async def platform_health(runtime: RuntimeDep, pool: PoolDep, _: Annotated[Principal, allow(OPERATOR)]) -> Any:
    """Read from each service's own `/readyz` and `/metrics`, the broker's offsets, and the last event
    reporting applied from each service (its `last_event`)."""
    settings = runtime.settings
    reporting = ReportingSettings()
    urls = peer_urls(settings, reporting, list(installed()))
    async with httpx.AsyncClient(timeout=3) as http:
        healths = await asyncio.gather(*(platform.service_health(http, name, url) for name, url in urls.items()))
    async with queries.reading(pool) as db:
        last = await queries.freshness(db)
    for health in healths:
        health["last_event"] = last.get(health["service"])
    lags = await platform.consumer_lag(
        settings.kafka_bootstrap_servers,
        reporting.consumer_groups,
        **parse_security(broker_security(settings)),
    )
    return {"services": healths, "consumers": lags}
