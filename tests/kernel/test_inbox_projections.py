"""Read models fed from other services' topics: what a retaining subscription accepted is kept in its
inbox and read back in commit order, so such a read model is applied once and rebuilt without the
broker's history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest
from kernel.events_for_tests import CounterIncremented, registry
from tandem_kernel.consumers import IncomingMessage, MessageProcessor, Outcome, Subscription
from tandem_kernel.events import EventEnvelope
from tandem_kernel.inbox import InboxSource
from tandem_kernel.projections import Projection, ProjectionRunner
from tandem_kernel.store import Cursor, EventStore
from tandem_kernel.testing import eventually


async def add(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, CounterIncremented)
    await connection.execute(
        "INSERT INTO totals VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + $2",
        envelope.stream_id,
        envelope.payload.by,
    )


MIRROR = Projection(
    "mirror",
    read_schema="kernel_test_mirror",
    ddl="CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)",
    handlers={CounterIncremented: add},
    consumes=("test.mirror",),
)


def message(stream_id: str, by: int, offset: int) -> IncomingMessage:
    event_id = str(uuid4())
    document = {
        "event_id": event_id,
        "event_type": "test.CounterIncremented",
        "event_version": 2,
        "stream_id": stream_id,
        "stream_version": 1,
        "position": offset,  # the producer's position: the inbox's own counts for the reader
        "occurred_at": "2026-11-26T10:00:00Z",
        "payload": {"by": by, "reason": "x"},
    }
    headers = {"ce_id": event_id, "ce_type": "test.CounterIncremented", "ce_source": "/other", "ce_specversion": "1.0"}
    return IncomingMessage("tandem.other.v1", 0, offset, stream_id.encode(), json.dumps(document).encode(), headers)


@pytest.fixture
async def mirror(store: EventStore, database_url: str) -> AsyncIterator[tuple[MessageProcessor, ProjectionRunner]]:
    async def no_dead_letters(*_: object) -> None:
        raise AssertionError("nothing here is a dead letter")

    subscription = Subscription("test.mirror", ("tandem.other.v1",), registry(), retain=True)
    processor = MessageProcessor(subscription, store.pool, no_dead_letters)
    source = InboxSource(store.pool, schema=store.schema, consumers=("test.mirror",), registry=registry())
    runner = ProjectionRunner(MIRROR, store, dsn=database_url, source=source)
    await runner.create_tables()
    yield processor, runner


async def totals(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT stream_id, total FROM kernel_test_mirror.totals")
    return {row["stream_id"]: row["total"] for row in rows}


async def test_what_a_retaining_subscription_accepted_feeds_a_read_model_once_and_rebuilds_alike(
    store: EventStore, mirror: tuple[MessageProcessor, ProjectionRunner]
) -> None:
    processor, runner = mirror
    sent = [message(f"c{n % 3}", n, n) for n in range(1, 31)]
    for incoming in sent:
        assert await processor.process(incoming) == Outcome.IGNORED  # no handler: retained, for read models
    assert await processor.process(sent[0]) == Outcome.DUPLICATE  # a redelivery is not retained twice

    await runner.catch_up()
    live = await totals(store.pool)
    assert live == {"c0": sum(range(3, 31, 3)), "c1": sum(range(1, 31, 3)), "c2": sum(range(2, 31, 3))}
    assert await runner.behind() == 0

    assert await runner.rebuild() == 30  # from the inbox alone: no broker involved
    assert await totals(store.pool) == live


async def test_a_reader_of_the_inbox_never_skips_a_row_that_commits_late(
    store: EventStore, mirror: tuple[MessageProcessor, ProjectionRunner]
) -> None:
    processor, runner = mirror
    source = runner.source
    async with store.pool.acquire() as slow, slow.transaction():
        # A consumer's transaction takes its inbox position first and commits last.
        await slow.execute(
            "INSERT INTO inbox (consumer, event_id, topic, envelope) VALUES ('test.mirror', $1, 't', $2::jsonb)",
            uuid4(),
            (message("late", 1, 1).value or b"").decode(),
        )
        await processor.process(message("early", 2, 2))
        seen_while_open = await source.read_all(Cursor.origin(), 10)

    async def both_readable() -> bool:  # (once no other transaction on the server is older either)
        return len(await source.read_all(Cursor.origin(), 10)) == 2

    await eventually(both_readable)
    seen_after = await source.read_all(Cursor.origin(), 10)

    assert seen_while_open == []  # the early row waits behind the open transaction: nothing is skipped
    assert [envelope.stream_id for envelope in seen_after] == ["late", "early"]
