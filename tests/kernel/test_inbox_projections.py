"""Read models fed from other services' topics: what a retaining subscription accepted is kept in its
inbox and read back in commit order, so such a read model is applied once and rebuilt without the
broker's history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
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


async def no_dead_letters(*_: object) -> None:
    raise AssertionError("nothing here is a dead letter")


UNREAD = "test.CounterReset"
"""A type the mirror's consumer chose not to read (`ignored_types`)."""


def retaining(store: EventStore, *, after_commit: Callable[[], None] | None = None) -> MessageProcessor:
    """The consumer of "test.mirror": no handlers, it keeps what it accepts in the inbox."""
    subscription = Subscription(
        "test.mirror", ("tandem.other.v1",), registry(), ignored_types=frozenset({UNREAD}), retain=True
    )
    return MessageProcessor(subscription, store.pool, no_dead_letters, after_commit=after_commit)


@pytest.fixture
async def mirror(store: EventStore, database_url: str) -> AsyncIterator[tuple[MessageProcessor, ProjectionRunner]]:
    """The consumer, waking the store's followers after its commits as a service wires it, and the
    read model it feeds; the runner's poll is an hour: what it applies while running, it was woken for."""
    source = InboxSource(store.pool, schema=store.schema, consumers=("test.mirror",), registry=registry())
    runner = ProjectionRunner(MIRROR, store, dsn=database_url, source=source, poll_seconds=3600)
    await runner.create_tables()
    yield retaining(store, after_commit=store.appended.send), runner


async def totals(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT stream_id, total FROM kernel_test_mirror.totals")
    return {row["stream_id"]: row["total"] for row in rows}


async def applied(store: EventStore, stream_id: str) -> bool:
    return stream_id in await totals(store.pool)


async def test_what_a_retaining_subscription_accepted_feeds_a_read_model_once_and_rebuilds_alike(
    store: EventStore, mirror: tuple[MessageProcessor, ProjectionRunner]
) -> None:
    processor, runner = mirror
    sent = [message(f"c{n % 3}", n, n) for n in range(1, 31)]
    for incoming in sent:
        assert await processor.process(incoming) == Outcome.RETAINED  # no handler: kept, for read models
    assert await processor.process(sent[0]) == Outcome.DUPLICATE  # a redelivery is not retained twice

    await runner.catch_up()
    live = await totals(store.pool)
    assert live == {"c0": sum(range(3, 31, 3)), "c1": sum(range(1, 31, 3)), "c2": sum(range(2, 31, 3))}
    assert await runner.behind() == 0

    assert await runner.rebuild() == 30  # from the inbox alone: no broker involved
    assert await totals(store.pool) == live


async def test_a_retaining_consumer_wakes_its_services_followers_for_what_it_kept_and_for_nothing_else(
    store: EventStore,
) -> None:
    wakes: list[str] = []
    processor = retaining(store, after_commit=lambda: wakes.append("woken"))
    first, second = message("c1", 1, 1), message("c1", 2, 2)
    unread = replace(second, headers={**second.headers, "ce_type": UNREAD})

    assert await processor.process(first) == Outcome.RETAINED
    assert wakes == ["woken"]
    assert await processor.process(first) == Outcome.DUPLICATE
    assert await processor.process(unread) == Outcome.IGNORED
    assert wakes == ["woken"]
    assert await processor.process_batch([message("c2", 3, 3), message("c3", 4, 4)]) == [Outcome.RETAINED] * 2
    assert wakes == ["woken"] * 2  # once for the fetch


async def test_a_running_read_model_applies_what_its_inbox_retained_at_the_consumers_commit_not_at_its_next_poll(
    store: EventStore, mirror: tuple[MessageProcessor, ProjectionRunner]
) -> None:
    # Found by the load bench: reporting's read model, fed by an inbox alone, waited for its poll.
    processor, runner = mirror
    running = asyncio.create_task(runner.run())
    try:
        await processor.process(message("first", 1, 1))
        await eventually(lambda: applied(store, "first"))
        await asyncio.sleep(0.3)  # caught up: the runner's next look is its hour-long poll

        fetched = [message("second", 2, 2), message("third", 3, 3)]
        assert await processor.process_batch(fetched) == [Outcome.RETAINED] * 2
        await eventually(lambda: applied(store, "third"), timeout=10)
    finally:
        runner.stop()
        await running


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
