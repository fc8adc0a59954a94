"""The pairing service behind real HTTP, on a real PostgreSQL database and a broker of its own.

One service (database and broker) per test module keeps the suite fast; tests stay independent by
each announcing its own program. Enrollment's events reach the service's pool through the kernel's
`MessageProcessor` (`feed`); tests that need time to pass call the scheduler's `tick` with their own
`now`, on a store of their own over the same database (`store`). Modules using these fixtures run
in a module-wide event loop: `pytestmark = pytest.mark.asyncio(loop_scope="module")`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest_asyncio
from pairing.integration.enrollment_feed import REGISTRY, EnrollmentFeed
from tandem_kernel.consumers import MessageProcessor
from tandem_kernel.database import create_pool
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.published import Publisher
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings
from tandem_pairing.application import enrollment_subscription
from tandem_pairing.entrypoints.app import create, registry

__all__ = ["Pairing", "SignedAsTheSender", "completed_round", "proposals_of", "settings_for"]


def settings_for(database_url: str, bootstrap_servers: str, identity: DevIdentity) -> ServiceSettings:
    return ServiceSettings(
        service_name="pairing",
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic_partitions=1,
        relay_poll_seconds=0.1,
        log_format="text",
        **signed_in_settings(identity),
    )


class SignedAsTheSender(httpx.Auth):
    """Signs each request as whoever would send it: an answer to a proposal as the participant
    answering (the `participant_id` of the body), everything else as HR. A request that carries its
    own Authorization header keeps it."""

    requires_request_body = True

    def __init__(self, tokens: TokenBook, feed: EnrollmentFeed) -> None:
        self.tokens = tokens
        self.feed = feed

    async def async_auth_flow(self, request: httpx.Request) -> AsyncIterator[httpx.Request]:
        if "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {await self._token_for(request)}"
        yield request

    async def _token_for(self, request: httpx.Request) -> str:
        if request.url.path.endswith(("/accept", "/decline")) and request.content:
            participant = json.loads(request.content).get("participant_id")
            employee = self.feed.employees.get(UUID(participant)) if _is_uuid(participant) else None
            if employee is not None:
                return await self.tokens.token(self.participant(employee))
        return await self.tokens.token("hr-admin")

    def participant(self, employee_id: str) -> str:
        """The login of the employee, who signs in as a participant."""
        login = f"employee-{employee_id.lower()}"
        if login not in self.tokens.provider.accounts:
            self.tokens.person(login, roles=["participant"], employee_id=employee_id)
        return login


def _is_uuid(value: object) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Pairing:
    """The running service and the test's own ways into it."""

    url: str
    database_url: str
    bootstrap_servers: str
    pool: asyncpg.Pool
    store: EventStore
    feed: EnrollmentFeed


async def _no_dead_letters(*args: object) -> None:
    raise AssertionError(f"nothing here should be dead-lettered: {args}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(identity: DevIdentity) -> AsyncIterator[Pairing]:
    """The service, ready (PostgreSQL, broker, relay), for the whole module."""
    with DevBroker() as broker:
        async with fresh_database("tandem_pairing_test") as database_url:
            app = create(settings_for(database_url, broker.bootstrap_servers, identity))
            async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:

                async def ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await eventually(ready, timeout=40)
                pool = await create_pool(database_url, "pairing")
                try:
                    store = EventStore(pool, schema="pairing", registry=registry())
                    processor = MessageProcessor(enrollment_subscription(store), pool, _no_dead_letters)
                    producer = await Publisher.start(database_url, "enrollment", REGISTRY)
                    feed = EnrollmentFeed(processor, producer)
                    try:
                        yield Pairing(url, database_url, broker.bootstrap_servers, pool, store, feed)
                    finally:
                        await producer.close()
                finally:
                    await pool.close()


@pytest_asyncio.fixture(loop_scope="module")
async def http(service: Pairing, tokens: TokenBook) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as HR, or as the participant for their answers (see `SignedAsTheSender`)."""
    auth = SignedAsTheSender(tokens, service.feed)
    async with httpx.AsyncClient(base_url=service.url, timeout=30, auth=auth) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def feed(service: Pairing) -> EnrollmentFeed:
    return service.feed


async def completed_round(http: httpx.AsyncClient, program_id: UUID, kind: str = "full") -> dict[str, Any]:
    """Request a round, wait for it to finish and for the read model to hold all its proposals."""
    requested = await http.post(f"/programs/{program_id}/rounds", json={"kind": kind})
    assert requested.status_code == 202, requested.text
    assert requested.headers["location"] == f"/rounds/{requested.json()['round_id']}"
    return await finished(http, requested.json()["round_id"])


async def finished(http: httpx.AsyncClient, round_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def done() -> bool:
        body = (await http.get(f"/rounds/{round_id}", params={"limit": 1000})).json()
        found.update(body)
        return body["status"] != "running" and len(body["proposals"]) == (body["matched"] or 0)

    await eventually(done, timeout=20)
    assert found["status"] == "completed", found
    return found


def proposals_of(round_: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The round's proposals by (junior id, senior id)."""
    return {(p["junior_id"], p["senior_id"]): p for p in round_["proposals"]}
