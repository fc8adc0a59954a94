"""The enrollment service behind real HTTP, on a real PostgreSQL database and the real broker.

One service (and database) per test module keeps the suite fast; tests stay independent by each
creating its own programs. Modules using these fixtures run in a module-wide event loop:
`pytestmark = pytest.mark.asyncio(loop_scope="module")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from tandem_enrollment.entrypoints.app import create
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings

__all__ = ["RunningService", "eventually_ok", "open_program", "person"]


@dataclass(frozen=True)
class RunningService:
    url: str
    database_url: str
    settings: ServiceSettings


def settings_for(database_url: str, bootstrap_servers: str, identity: DevIdentity) -> ServiceSettings:
    return ServiceSettings(
        service_name="enrollment",
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic_partitions=2,
        relay_poll_seconds=0.2,
        log_format="text",
        personal_data_master_key="enrollment integration tests",
        **signed_in_settings(identity),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(broker: DevBroker, identity: DevIdentity) -> AsyncIterator[RunningService]:
    """The service, ready (PostgreSQL, broker, relay), for the whole module."""
    async with fresh_database("tandem_enrollment_test") as database_url:
        settings = settings_for(database_url, broker.bootstrap_servers, identity)
        async with serving(create(settings)) as url, httpx.AsyncClient(base_url=url) as http:

            async def ready() -> bool:
                return (await http.get("/readyz")).status_code == 200

            await eventually(ready, timeout=40)
            yield RunningService(url, database_url, settings)


@pytest_asyncio.fixture(loop_scope="module")
async def http(service: RunningService, tokens: TokenBook) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as HR (a program admin of every program)."""
    headers = await tokens.headers("hr-admin")
    async with httpx.AsyncClient(base_url=service.url, timeout=30, headers=headers) as client:
        yield client


def person(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """The `n`th sample enrollment request (even: junior, odd: senior), with overrides."""
    return {**sample_people(n + 1)[n], **overrides}


async def open_program(http: httpx.AsyncClient, **overrides: Any) -> str:
    """Create and open a program on the demo terms, without capacity or auto-approval unless
    overridden; returns its id."""
    created = await http.post("/programs", json={**DEMO_PROGRAM, "capacity": None, "auto_approve": False, **overrides})
    assert created.status_code == 201, created.text
    program_id: str = created.json()["program_id"]
    opened = await http.post(f"/programs/{program_id}/open")
    assert opened.status_code == 200, opened.text
    return program_id


async def eventually_ok(
    http: httpx.AsyncClient, url: str, until: Callable[[dict[str, Any]], bool] = lambda body: True
) -> dict[str, Any]:
    """GET `url` until it answers 200 with a body satisfying `until` (the read model follows)."""
    found: dict[str, Any] = {}

    async def check() -> bool:
        response = await http.get(url)
        if response.status_code != 200:
            return False
        found.update(response.json())
        return until(found)

    await eventually(check, timeout=15)
    return found


Check = Callable[[], Awaitable[bool]]
