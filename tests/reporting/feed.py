"""Reporting's read model fed the way production feeds it, without a broker: each source service's
events appended to a store of the producer's and read back as its relay publishes them (`Publisher`),
then handed to reporting's own subscriptions (`MessageProcessor`: inbox, tolerant readers, retained
envelopes), and the `programs` projection following the inbox (`InboxSource`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from reporting.history import Batch
from tandem_enrollment.domain.events import ENROLLMENT_EVENTS
from tandem_evaluation.domain.events import EVALUATION_EVENTS
from tandem_kernel.consumers import MessageProcessor, Outcome
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventRegistry
from tandem_kernel.inbox import InboxSource
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.projections import ProjectionRunner
from tandem_kernel.published import Publisher
from tandem_kernel.store import EventStore
from tandem_pairing.domain.events import PAIRING_EVENTS
from tandem_reporting.adapters.projection import programs_projection
from tandem_reporting.adapters.tables import FACT_TABLES, READ_SCHEMA
from tandem_reporting.application import subscriptions
from tandem_sessions.domain.events import SESSIONS_EVENTS

__all__ = ["PRODUCERS", "ReportingFeed", "reporting_feed", "snapshot"]

PRODUCERS = {
    "enrollment": EventRegistry(ENROLLMENT_EVENTS),
    "pairing": EventRegistry(PAIRING_EVENTS),
    "sessions": EventRegistry(SESSIONS_EVENTS),
    "evaluation": EventRegistry(EVALUATION_EVENTS),
}


async def _no_dead_letters(*args: object) -> None:
    raise AssertionError(f"nothing here should be dead-lettered: {args}")


@dataclass
class ReportingFeed:
    pool: asyncpg.Pool
    publishers: dict[str, Publisher]
    processors: dict[str, MessageProcessor]
    runner: ProjectionRunner

    async def messages(self, batch: Batch) -> list[IncomingMessage]:
        """What the batch's producer publishes for it (appended to the producer's store)."""
        return await self.publishers[batch.service].publish(batch.stream_id, list(batch.events))

    async def deliver(self, service: str, messages: Iterable[IncomingMessage]) -> None:
        processor = self.processors[service]
        for message in messages:
            # No handlers: every event kept for the projection, but those reporting chose not to read.
            unread = message.headers["ce_type"] in processor.subscription.ignored_types
            assert await processor.process(message) == (Outcome.IGNORED if unread else Outcome.RETAINED)

    async def send(self, batches: Iterable[Batch], *, apply: bool = True) -> None:
        for batch in batches:
            await self.deliver(batch.service, await self.messages(batch))
        if apply:
            await self.runner.catch_up()


@asynccontextmanager
async def reporting_feed(database_url: str) -> AsyncIterator[ReportingFeed]:
    await migrate(database_url, "reporting")
    pool = await create_pool(database_url, "reporting")
    publishers = {name: await Publisher.start(database_url, name, registry) for name, registry in PRODUCERS.items()}
    try:
        processors = {
            subscription.name.removeprefix("reporting."): MessageProcessor(subscription, pool, _no_dead_letters)
            for subscription in subscriptions()
        }
        registry = EventRegistry()
        for subscription in subscriptions():
            registry = registry.merge(subscription.registry)
        store = EventStore(pool, schema="reporting", registry=EventRegistry())
        source = InboxSource(pool, schema="reporting", consumers=programs_projection.consumes, registry=registry)
        runner = ProjectionRunner(programs_projection, store, dsn=database_url, source=source)
        await runner.create_tables()
        yield ReportingFeed(pool, publishers, processors, runner)
    finally:
        for publisher in publishers.values():
            await publisher.close()
        await pool.close()


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    """Every fact table's rows, in a stable order."""
    tables = {}
    for table in FACT_TABLES:
        rows = await pool.fetch(f"SELECT * FROM {READ_SCHEMA}.{table}")
        tables[table] = sorted((dict(row) for row in rows), key=repr)
    return tables
