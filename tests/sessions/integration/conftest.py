"""The sessions service behind real HTTP, on a real PostgreSQL database and a broker of its own.

One service per test module; tests stay independent by each announcing its own program and pair.
Enrollment's and pairing's real events (built with their own models, published through the kernel's
`Publisher`) reach the service's subscriptions through the kernel's `MessageProcessor`; an
activated pair is ready once the service's planning job has taken it off the queue. The
service's clock is a `SettableClock` the tests move; `store` is the test's own way into the same
database (the scheduler's `tick`, say). Modules run in a module-wide event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest_asyncio
from pairing.integration.enrollment_feed import REGISTRY as ENROLLMENT_REGISTRY
from pairing.integration.enrollment_feed import EnrollmentFeed
from sessions.mail_server import Mailbox, environment, smtp_server
from tandem_kernel.clock import SettableClock
from tandem_kernel.consumers import MessageProcessor, Outcome
from tandem_kernel.database import create_pool
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.events import EventRegistry
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.published import Publisher
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings
from tandem_pairing.domain import events as pairing_events
from tandem_sessions.application.policies import enrollment_subscription, pairing_subscription
from tandem_sessions.entrypoints.app import create, registry

__all__ = ["START", "Pair", "Sessions", "settings_for"]

START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
"""A Monday: the service's clock starts here for every module."""

PROGRAM: dict[str, Any] = {"start_date": START.date(), "end_date": START.date() + timedelta(days=300)}
MASTER_KEY = "sessions integration tests"


def settings_for(database_url: str, bootstrap_servers: str, identity: DevIdentity) -> ServiceSettings:
    return ServiceSettings(
        service_name="sessions",
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap_servers,
        kafka_topic_partitions=1,
        relay_poll_seconds=0.1,
        log_format="text",
        personal_data_master_key=MASTER_KEY,
        **signed_in_settings(identity),
    )


async def _no_dead_letters(*args: object) -> None:
    raise AssertionError(f"nothing here should be dead-lettered: {args}")


@dataclass(frozen=True)
class Pair:
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class PairingFeed:
    """Pairs, announced to sessions the way pairing announces them."""

    def __init__(self, processor: MessageProcessor, producer: Publisher) -> None:
        self.processor, self.producer = processor, producer

    async def deliver(self, event: pairing_events.PairEvent) -> None:
        [message] = await self.producer.publish(f"pair-{event.pair_id}", [event])
        assert await self.processor.process(message) in (Outcome.HANDLED, Outcome.IGNORED)

    async def activate(self, program_id: UUID, junior_id: UUID, senior_id: UUID, *, at: datetime) -> Pair:
        pair = Pair(uuid4(), program_id, junior_id, senior_id)
        await self.deliver(
            pairing_events.PairActivated(
                pair_id=pair.pair_id,
                program_id=program_id,
                junior_id=junior_id,
                senior_id=senior_id,
                activated_at=at,
                rotation_due_at=at + timedelta(days=91),
            )
        )
        await self.planned(pair.pair_id)
        return pair

    async def planned(self, pair_id: UUID) -> None:
        """Wait for the service's planning job to have planned the activated pair."""

        async def dequeued() -> bool:
            waiting = await self.processor.pool.fetchval(
                "SELECT count(*) FROM pairs_to_plan WHERE pair_id = $1", pair_id
            )
            return waiting == 0

        await eventually(dequeued, timeout=30)

    async def end(self, pair: Pair, *, at: datetime) -> None:
        await self.deliver(
            pairing_events.PairEnded(
                pair_id=pair.pair_id,
                program_id=pair.program_id,
                junior_id=pair.junior_id,
                senior_id=pair.senior_id,
                reason=pairing_events.EndReason.NOT_A_GOOD_FIT,
                ended_at=at,
            )
        )


@dataclass
class Sessions:
    """The running service and the test's own ways into it."""

    url: str
    database_url: str
    pool: asyncpg.Pool
    store: EventStore
    clock: SettableClock
    enrollment: EnrollmentFeed
    pairing: PairingFeed
    tokens: TokenBook
    mailbox: Mailbox = field(default_factory=Mailbox)

    async def as_(self, participant_id: UUID) -> dict[str, str]:
        """Headers signing in as the employee behind `participant_id`."""
        employee = self.enrollment.employees[participant_id]
        login = f"employee-{employee.lower()}"
        if login not in self.tokens.provider.accounts:
            self.tokens.person(login, roles=["participant"], employee_id=employee)
        return await self.tokens.headers(login)

    async def hr(self) -> dict[str, str]:
        return await self.tokens.headers("hr-admin")

    async def pair(self, junior: dict[str, Any], senior: dict[str, Any], **program: Any) -> Pair:
        """A program of its own, a junior and a senior with these profile overrides, and their pair."""
        program_id = await self.enrollment.program(**{**PROGRAM, **program})
        junior_id = await self.enrollment.participant(program_id, "junior", **junior)
        senior_id = await self.enrollment.participant(program_id, "senior", **senior)
        return await self.pairing.activate(program_id, junior_id, senior_id, at=self.clock.now())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(identity: DevIdentity, tokens: TokenBook) -> AsyncIterator[Sessions]:
    """The service, ready (PostgreSQL, broker, relay), for the whole module."""
    with DevBroker() as broker, smtp_server() as (mailbox, mail_settings), environment(mail_settings):
        async with fresh_database("tandem_sessions_test") as database_url:
            app = create(settings_for(database_url, broker.bootstrap_servers, identity))
            clock = SettableClock(START)
            app.state.runtime.clock = clock
            async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:

                async def ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await eventually(ready, timeout=40)
                pool = await create_pool(database_url, "sessions")
                try:
                    store = EventStore(pool, schema="sessions", registry=registry(), keyring=SubjectKeys(MASTER_KEY))
                    enrolled = MessageProcessor(enrollment_subscription(store), pool, _no_dead_letters)
                    paired = MessageProcessor(pairing_subscription(store), pool, _no_dead_letters)
                    enrollment_producer = await Publisher.start(database_url, "enrollment", ENROLLMENT_REGISTRY)
                    pairing_producer = await Publisher.start(
                        database_url, "pairing", EventRegistry(pairing_events.PAIRING_EVENTS)
                    )
                    try:
                        yield Sessions(
                            url,
                            database_url,
                            pool,
                            store,
                            clock,
                            EnrollmentFeed(enrolled, enrollment_producer),
                            PairingFeed(paired, pairing_producer),
                            tokens,
                            mailbox,
                        )
                    finally:
                        await enrollment_producer.close()
                        await pairing_producer.close()
                finally:
                    await pool.close()


@pytest_asyncio.fixture(loop_scope="module")
async def http(service: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        yield client
