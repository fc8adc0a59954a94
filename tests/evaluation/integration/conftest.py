"""The evaluation service behind real HTTP, on a real PostgreSQL database and a broker of its own.

One service per test module; tests stay independent by each announcing its own program. Other
services' events reach evaluation's subscriptions through the kernel's `MessageProcessor` (`feed`);
time is the runtime's clock, a `SettableClock` tests may move (`service.clock`); the scheduler's pass
is called with the test's own `now` on a store of the test's own over the same database (`store`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import httpx
import pytest_asyncio
from evaluation.integration.feed import Feed, Producers
from tandem_evaluation.application.policies import (
    enrollment_subscription,
    pairing_subscription,
    sessions_subscription,
)
from tandem_evaluation.entrypoints.app import create, registry
from tandem_kernel.clock import SettableClock
from tandem_kernel.consumers import MessageProcessor
from tandem_kernel.database import create_pool
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings

__all__ = ["Evaluation", "SignedAsTheSender", "settings_for"]


def settings_for(database_url: str, bootstrap_servers: str, identity: DevIdentity) -> ServiceSettings:
    return ServiceSettings(
        service_name="evaluation",
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic_partitions=1,
        relay_poll_seconds=0.1,
        log_format="text",
        **signed_in_settings(identity),
    )


@dataclass(frozen=True)
class Evaluation:
    url: str
    database_url: str
    pool: asyncpg.Pool
    store: EventStore
    feed: Feed
    clock: SettableClock


async def _no_dead_letters(*args: object) -> None:
    raise AssertionError(f"nothing here should be dead-lettered: {args}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(identity: DevIdentity) -> AsyncIterator[Evaluation]:
    with DevBroker() as broker:
        async with fresh_database("tandem_evaluation_test") as database_url:
            settings = settings_for(database_url, broker.bootstrap_servers, identity)
            app = create(settings)
            async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
                clock = SettableClock()
                app.state.runtime.clock = clock

                async def ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await eventually(ready, timeout=40)
                pool = await create_pool(database_url, "evaluation")
                producers = await Producers.start(database_url)
                try:
                    keys = SubjectKeys(settings.personal_data_master_key)
                    store = EventStore(pool, schema="evaluation", registry=registry(), keyring=keys)
                    processors = {
                        subscription.topics[0]: MessageProcessor(subscription, pool, _no_dead_letters)
                        for subscription in (
                            enrollment_subscription(store),
                            pairing_subscription(store),
                            sessions_subscription(store),
                        )
                    }
                    yield Evaluation(url, database_url, pool, store, Feed(producers, processors), clock)
                finally:
                    await producers.close()
                    await pool.close()


class SignedAsTheSender(httpx.Auth):
    """Signs each request as the participant it is about (the `participant_id` of the body, else of the
    path), or as HR for anything else; a request with its own Authorization header keeps it."""

    requires_request_body = True

    def __init__(self, tokens: TokenBook, feed: Feed) -> None:
        self.tokens, self.feed = tokens, feed

    async def async_auth_flow(self, request: httpx.Request) -> AsyncIterator[httpx.Request]:
        if "authorization" not in request.headers:
            request.headers["Authorization"] = f"Bearer {await self._token_for(request)}"
        yield request

    async def _token_for(self, request: httpx.Request) -> str:
        who = None
        if request.content:
            who = json.loads(request.content).get("participant_id")
        parts = request.url.path.split("/")
        if who is None and len(parts) > 2 and parts[1] == "participants" and request.method == "POST":
            who = parts[2]
        employee = self.feed.employees.get(UUID(who)) if who else None
        if employee is None:
            return await self.tokens.token("hr-admin")
        return await self.tokens.token(self.login(employee))

    def login(self, employee_id: str) -> str:
        login = f"employee-{employee_id.lower()}"
        if login not in self.tokens.provider.accounts:
            self.tokens.person(login, roles=["participant"], employee_id=employee_id)
        return login


@pytest_asyncio.fixture(loop_scope="module")
async def http(service: Evaluation, tokens: TokenBook) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=service.url, timeout=30, auth=SignedAsTheSender(tokens, service.feed)
    ) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def feed(service: Evaluation) -> Feed:
    return service.feed
