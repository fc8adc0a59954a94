"""A consumer handles each fetch of messages in one transaction — one commit for the batch — and a
batch changes no outcome: whatever fails in it, each message ends as it would have on its own,
with its effects applied exactly once.

These run the real `MessageProcessor` against real PostgreSQL; `test_relay_and_consumers` and
`test_consumer_faults` drive the same code through the real broker.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from uuid import uuid4

import asyncpg
import pytest
from kernel.events_for_tests import CounterIncremented, CounterReset, registry
from prometheus_client import REGISTRY
from tandem_kernel.consumers import BatchHandler, IncomingMessage, MessageProcessor, Outcome, Subscription
from tandem_kernel.dead_letters import list_dead_letters
from tandem_kernel.events import EventEnvelope
from tandem_kernel.store import EventStore

CONSUMER = "test.batches"


@pytest.fixture
async def pool(store: EventStore) -> AsyncIterator[asyncpg.Pool]:
    await store.pool.execute(
        "CREATE TABLE applied (event_id uuid PRIMARY KEY, stream_id text NOT NULL, by int NOT NULL,"
        " transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id())"
    )
    yield store.pool


async def apply(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    """Records the event and the transaction it was applied in; refuses a `by` of -13 (a poison)."""
    assert isinstance(envelope.payload, CounterIncremented)
    if envelope.payload.by == -13:
        raise ValueError("thirteen is refused")
    await connection.execute(
        "INSERT INTO applied (event_id, stream_id, by) VALUES ($1, $2, $3)",
        envelope.event_id,
        envelope.stream_id,
        envelope.payload.by,
    )


def event(event_id: str | None = None, *, by: int = 1, stream: str = "c1", version: int = 1) -> dict[str, object]:
    return {
        "event_id": event_id or str(uuid4()),
        "event_type": "test.CounterIncremented",
        "event_version": 2,
        "stream_id": stream,
        "stream_version": version,
        "position": version,
        "occurred_at": "2026-11-26T10:00:00Z",
        "payload": {"by": by, "reason": "ok"},
    }


def message(body: dict[str, object] | bytes, offset: int) -> IncomingMessage:
    value = body if isinstance(body, bytes) else json.dumps(body).encode()
    event_id = body["event_id"] if isinstance(body, dict) else str(uuid4())
    event_type = body["event_type"] if isinstance(body, dict) else "test.CounterIncremented"
    headers = {"ce_id": str(event_id), "ce_type": str(event_type), "ce_source": "/t", "ce_specversion": "1.0"}
    return IncomingMessage("t", 0, offset, b"c1", value, headers)


def fetch(*bodies: dict[str, object] | bytes) -> list[IncomingMessage]:
    return [message(body, offset) for offset, body in enumerate(bodies)]


async def noop_publish(topic: str, incoming: IncomingMessage, headers: dict[str, str]) -> None:
    pass


def processor(pool: asyncpg.Pool, *, in_batches: bool = True, wakes: list[int] | None = None) -> MessageProcessor:
    subscription = Subscription(CONSUMER, ("t",), registry(), {CounterIncremented: apply}, in_batches=in_batches)
    return MessageProcessor(
        subscription,
        pool,
        noop_publish,
        backoff_seconds=0,
        after_commit=(lambda: wakes.append(1)) if wakes is not None else None,
    )


async def transactions(pool: asyncpg.Pool) -> int:
    return await pool.fetchval("SELECT count(DISTINCT transaction_id) FROM applied")


async def test_a_fetch_is_applied_in_one_transaction_and_wakes_the_relay_once(pool: asyncpg.Pool) -> None:
    wakes: list[int] = []
    consumer = processor(pool, wakes=wakes)

    outcomes = await consumer.process_batch(fetch(*(event(by=n, version=n) for n in range(1, 51))))

    assert outcomes == [Outcome.HANDLED] * 50
    assert await pool.fetchval("SELECT count(*) FROM applied") == 50
    assert await transactions(pool) == 1
    assert wakes == [1]


async def test_a_subscription_with_effects_outside_the_database_handles_each_message_on_its_own(
    pool: asyncpg.Pool,
) -> None:
    consumer = processor(pool, in_batches=False)

    assert await consumer.process_batch(fetch(event(), event(), event())) == [Outcome.HANDLED] * 3
    assert await transactions(pool) == 3


async def test_duplicates_inside_a_batch_and_across_batches_are_applied_once(pool: asyncpg.Pool) -> None:
    consumer = processor(pool)
    first, second = event(by=2), event(by=3)
    await consumer.process_batch(fetch(first, event()))

    outcomes = await consumer.process_batch(fetch(first, second, second))

    assert outcomes == [Outcome.DUPLICATE, Outcome.HANDLED, Outcome.DUPLICATE]
    assert await pool.fetchval("SELECT count(*) FROM applied") == 3


async def test_a_duplicate_with_another_body_inside_a_batch_is_skipped_and_kept_as_a_dead_letter(
    pool: asyncpg.Pool,
) -> None:
    consumer = processor(pool)
    event_id = str(uuid4())

    outcomes = await consumer.process_batch(fetch(event(event_id, by=2), event(event_id, by=7), event()))

    assert outcomes == [Outcome.HANDLED, Outcome.CONFLICTING_DUPLICATE, Outcome.HANDLED]
    assert await pool.fetchval("SELECT by FROM applied WHERE event_id = $1", event_id) == 2
    [letter] = await list_dead_letters(pool)
    assert letter.kind == "conflicting_duplicate"


async def test_an_unreadable_message_is_a_dead_letter_and_the_rest_of_its_batch_is_applied_together(
    pool: asyncpg.Pool,
) -> None:
    consumer = processor(pool)

    outcomes = await consumer.process_batch(fetch(event(), b"\x00not json", event(by=4), event(stream=17)))

    assert outcomes == [Outcome.HANDLED, Outcome.DEAD_LETTERED, Outcome.HANDLED, Outcome.DEAD_LETTERED]
    assert await pool.fetchval("SELECT count(*) FROM applied") == 2
    assert await transactions(pool) == 1
    assert sorted(letter.kind for letter in await list_dead_letters(pool)) == ["unreadable", "unreadable"]


async def test_a_failing_message_rolls_its_batch_back_and_each_message_then_ends_as_it_would_alone(
    pool: asyncpg.Pool,
) -> None:
    consumer = processor(pool)
    splits_before = REGISTRY.get_sample_value("tandem_consumer_batches_split_total", {"consumer": CONSUMER}) or 0
    bodies = [event(by=1), event(by=2), event(by=-13), event(by=4)]

    outcomes = await consumer.process_batch(fetch(*bodies))

    assert outcomes == [Outcome.HANDLED, Outcome.HANDLED, Outcome.DEAD_LETTERED, Outcome.HANDLED]
    # Nothing of the rolled-back attempt stayed: each good message applied once, in its own transaction.
    assert sorted(await pool.fetch("SELECT by FROM applied"), key=lambda row: row["by"]) == [(1,), (2,), (4,)]
    assert await transactions(pool) == 3
    [letter] = await list_dead_letters(pool)
    assert (letter.kind, letter.attempts) == ("failed", 3)
    assert "thirteen is refused" in letter.error
    splits = REGISTRY.get_sample_value("tandem_consumer_batches_split_total", {"consumer": CONSUMER})
    assert splits == splits_before + 1
    # The inbox holds exactly the applied and the given-up messages' ids, once each.
    assert await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", CONSUMER) == 3


async def test_a_redelivered_batch_after_a_crash_applies_nothing_twice(pool: asyncpg.Pool) -> None:
    consumer = processor(pool)
    bodies = [event(by=n, version=n) for n in range(1, 11)]
    await consumer.process_batch(fetch(*bodies[:6]))  # committed, but the offsets were not (a crash)

    outcomes = await consumer.process_batch(fetch(*bodies))

    assert outcomes == [Outcome.DUPLICATE] * 6 + [Outcome.HANDLED] * 4
    assert await pool.fetchval("SELECT sum(by) FROM applied") == sum(range(1, 11))


# -- a batch handler: runs of events applied together -------------------------------------------


def reset(*, stream: str = "c1", version: int = 1) -> dict[str, object]:
    return {
        **event(stream=stream, version=version),
        "event_type": "test.CounterReset",
        "event_version": 1,
        "payload": {},
    }


class Together:
    """A subscription whose batch handler takes the increments (applied one by one through `apply`,
    so a -13 in a run fails it); resets have only their own handler. `calls` logs both, in order."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.calls: list[tuple[str, list[int]]] = []
        subscription = Subscription(
            CONSUMER,
            ("t",),
            registry(),
            {CounterIncremented: apply, CounterReset: self.apply_reset},
            batch_handler=BatchHandler(frozenset({CounterIncremented}), self.apply_run),
        )
        self.consumer = MessageProcessor(subscription, pool, noop_publish, backoff_seconds=0)

    async def apply_run(self, envelopes: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
        self.calls.append(("run", [envelope.payload.by for envelope in envelopes]))  # type: ignore[attr-defined]
        for envelope in envelopes:
            await apply(envelope, connection)

    async def apply_reset(self, envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        self.calls.append(("reset", []))
        await connection.execute(
            "INSERT INTO applied (event_id, stream_id, by) VALUES ($1, $2, 0)", envelope.event_id, envelope.stream_id
        )


async def test_runs_of_events_a_batch_handler_takes_are_applied_together_in_order_around_the_others(
    pool: asyncpg.Pool,
) -> None:
    together = Together(pool)
    seen = event(by=9)
    await together.consumer.process_batch(fetch(seen, event(by=8)))
    together.calls.clear()
    await pool.execute("DELETE FROM applied")

    outcomes = await together.consumer.process_batch(
        fetch(event(by=1), event(by=2), seen, event(by=3), reset(), event(by=4), b"\x00", event(by=5))
    )

    assert outcomes == [Outcome.HANDLED] * 2 + [Outcome.DUPLICATE] + [Outcome.HANDLED] * 3 + [
        Outcome.DEAD_LETTERED,
        Outcome.HANDLED,
    ]
    # A duplicate or an event of another type ends a run (the latter applied between); a dead letter does not.
    assert together.calls == [("run", [1, 2]), ("run", [3]), ("reset", []), ("run", [4, 5])]
    assert await transactions(pool) == 1
    assert await pool.fetchval("SELECT count(*) FROM applied") == 6


async def test_a_failing_run_splits_its_batch_and_each_message_then_ends_as_its_own_handler_decides(
    pool: asyncpg.Pool,
) -> None:
    together = Together(pool)

    outcomes = await together.consumer.process_batch(fetch(event(by=1), event(by=-13), reset(), event(by=4)))

    assert outcomes == [Outcome.HANDLED, Outcome.DEAD_LETTERED, Outcome.HANDLED, Outcome.HANDLED]
    assert together.calls[0] == ("run", [1, -13])  # the run failed: rolled back, nothing of it stayed
    assert sorted(row["by"] for row in await pool.fetch("SELECT by FROM applied")) == [0, 1, 4]
    assert await transactions(pool) == 3  # each good message alone, through its own handler
    [letter] = await list_dead_letters(pool)
    assert (letter.kind, letter.attempts) == ("failed", 3)


def test_a_batch_handler_takes_only_types_the_subscription_handles_one_by_one_too() -> None:
    async def apply_run(envelopes: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
        pass

    with pytest.raises(ValueError, match="handler of its own"):
        Subscription(
            CONSUMER, ("t",), registry(), {}, batch_handler=BatchHandler(frozenset({CounterIncremented}), apply_run)
        )
