"""No message can stop a consumer: what cannot be read, what keeps failing and what repeats with
another body all end as visible dead letters, and the partition moves on.

These run the real `MessageProcessor` against real PostgreSQL; the broker test at the end proves a
bad message does not block the messages after it on the real broker.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from kernel.events_for_tests import CounterIncremented, registry
from prometheus_client import REGISTRY
from tandem_kernel.consumers import (
    IncomingMessage,
    MessageProcessor,
    Outcome,
    Subscription,
    fingerprint,
    replay_dead_letters,
)
from tandem_kernel.dead_letters import list_dead_letters
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.events import EventEnvelope
from tandem_kernel.kafka import dead_letter_publisher, ensure_topics, subscribe
from tandem_kernel.store import EventStore


@pytest.fixture
async def pool(store: EventStore) -> AsyncIterator[asyncpg.Pool]:
    await store.pool.execute("CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)")
    yield store.pool


async def add_to_total(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, CounterIncremented)
    await connection.execute(
        "INSERT INTO totals VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + $2",
        envelope.stream_id,
        envelope.payload.by,
    )


def document(event_id: str, **overrides: object) -> dict[str, object]:
    return {
        "event_id": event_id,
        "event_type": "test.CounterIncremented",
        "event_version": 2,
        "stream_id": "c1",
        "stream_version": 1,
        "position": 1,
        "occurred_at": "2026-11-26T10:00:00Z",
        "payload": {"by": 5, "reason": "ok"},
        **overrides,
    }


def message(body: dict[str, object] | bytes, *, offset: int = 1, topic: str = "t") -> IncomingMessage:
    value = body if isinstance(body, bytes) else json.dumps(body).encode()
    event_id = body["event_id"] if isinstance(body, dict) else str(uuid4())
    headers = {"ce_id": str(event_id), "ce_type": "test.CounterIncremented", "ce_source": "/t", "ce_specversion": "1.0"}
    return IncomingMessage(topic, 0, offset, b"c1", value, headers)


class DeadLetterTopic:
    """Records what the processor publishes to `<topic>.dlq`."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, str]]] = []

    async def __call__(self, topic: str, incoming: IncomingMessage, headers: dict[str, str]) -> None:
        self.published.append((topic, headers))


def processor(pool: asyncpg.Pool, handler=add_to_total, **options: object) -> MessageProcessor:  # type: ignore[no-untyped-def]
    subscription = Subscription("test.totals", ("t",), registry(), {CounterIncremented: handler})
    return MessageProcessor(subscription, pool, DeadLetterTopic(), backoff_seconds=0, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "shape",
    [
        {"event_version": "two"},
        {"event_version": None},
        {"payload": [1, 2]},
        {"payload": None},
        {"payload": "by=5"},
        {"stream_id": 17},
        {"stream_version": {"nested": True}},
        {"occurred_at": "yesterday"},
    ],
    ids=str,
)
async def test_an_envelope_of_the_wrong_shape_is_a_dead_letter_at_once(
    pool: asyncpg.Pool, shape: dict[str, object]
) -> None:
    consumer = processor(pool)

    async with asyncio.timeout(5):  # never redelivered forever
        outcome = await consumer.process(message(document(str(uuid4()), **shape)))

    assert outcome == Outcome.DEAD_LETTERED
    [letter] = await list_dead_letters(pool)
    assert letter.kind == "unreadable" and letter.attempts == 1


async def test_a_handler_raising_an_os_error_while_postgresql_answers_is_dead_lettered_after_bounded_attempts(
    pool: asyncpg.Pool,
) -> None:
    calls = 0

    async def calls_a_peer_that_resets(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionResetError("the notification gateway reset the connection")

    consumer = processor(pool, calls_a_peer_that_resets, max_attempts=3)

    async with asyncio.timeout(10):
        outcome = await consumer.process(message(document(str(uuid4()))))

    assert outcome == Outcome.DEAD_LETTERED and calls == 3
    [letter] = await list_dead_letters(pool)
    assert (letter.kind, letter.error_type, letter.attempts) == ("failed", "ConnectionResetError", 3)


async def test_a_dropped_connection_is_retried_without_counting_as_a_handler_failure(pool: asyncpg.Pool) -> None:
    failures = [asyncpg.InternalClientError("cannot perform operation: another operation is in progress")] * 4

    async def after_a_dropped_connection(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        if failures:
            raise failures.pop()
        await add_to_total(envelope, connection)

    consumer = processor(pool, after_a_dropped_connection, max_attempts=2)

    assert await consumer.process(message(document(str(uuid4())))) == Outcome.HANDLED
    assert await pool.fetchval("SELECT total FROM totals") == 5
    assert await list_dead_letters(pool) == []


async def test_each_dead_letter_is_its_own_row_even_at_the_same_coordinates_and_replays_its_own_body(
    pool: asyncpg.Pool,
) -> None:
    """After a broker wipe, offsets start again: a new failing message may reuse old coordinates."""
    armed = True

    async def fails_until_fixed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        if armed:
            raise RuntimeError("bug")
        await add_to_total(envelope, connection)

    consumer = processor(pool, fails_until_fixed, max_attempts=1)
    before_wipe = document(str(uuid4()), payload={"by": 1, "reason": "first"})
    after_wipe = document(str(uuid4()), payload={"by": 10, "reason": "second"})
    assert await consumer.process(message(before_wipe, offset=7)) == Outcome.DEAD_LETTERED
    assert await consumer.process(message(after_wipe, offset=7)) == Outcome.DEAD_LETTERED

    letters = await list_dead_letters(pool)
    assert [(letter.offset, str(letter.event_id)) for letter in letters] == [
        (7, before_wipe["event_id"]),
        (7, after_wipe["event_id"]),
    ]
    armed = False
    outcomes = await replay_dead_letters(pool, [consumer])
    assert list(outcomes.values()) == [Outcome.HANDLED, Outcome.HANDLED]
    assert await pool.fetchval("SELECT total FROM totals") == 11  # both bodies, neither lost


async def test_the_same_event_id_with_another_body_is_skipped_but_recorded_as_a_conflicting_duplicate(
    pool: asyncpg.Pool,
) -> None:
    consumer = processor(pool)
    event_id = str(uuid4())
    conflicts = REGISTRY.get_sample_value("tandem_conflicting_duplicates_total", {"consumer": "test.totals"}) or 0

    assert await consumer.process(message(document(event_id))) == Outcome.HANDLED
    assert await consumer.process(message(document(event_id))) == Outcome.DUPLICATE  # a plain redelivery
    other = document(event_id, payload={"by": 500, "reason": "forged"})
    assert await consumer.process(message(other, topic="t2")) == Outcome.CONFLICTING_DUPLICATE

    assert await pool.fetchval("SELECT total FROM totals") == 5  # the first body stays applied, once
    [letter] = await list_dead_letters(pool)
    assert letter.kind == "conflicting_duplicate" and letter.topic == "t2"
    assert "t2" in letter.error and "payload" in letter.error
    after = REGISTRY.get_sample_value("tandem_conflicting_duplicates_total", {"consumer": "test.totals"})
    assert after == conflicts + 1


def test_a_fingerprint_is_the_hash_of_type_version_stream_and_payload_in_canonical_json() -> None:
    # Stored in every inbox row and compared with each later delivery's: its spelling must not
    # drift (keys sorted, no spaces, non-ASCII escaped), or every redelivery would look forged.
    first = {"event_type": "t.Done", "event_version": 2, "stream_id": "s-1", "stream_version": 3, "position": 9}
    payload = {"name": "Zoé", "at": [1, 2.5, None, True]}
    canonical = '["t.Done",2,"s-1",3,{"at":[1,2.5,null,true],"name":"Zo\\u00e9"}]'

    assert fingerprint({**first, "payload": payload}) == hashlib.sha256(canonical.encode()).digest()
    assert fingerprint({**first, "position": 10, "trace": "x", "payload": dict(reversed(payload.items()))}) == (
        fingerprint({**first, "payload": payload})
    ), "the envelope's other fields and the payload's key order are not the event"


@pytest.mark.broker
async def test_on_the_broker_a_bad_message_is_dead_lettered_and_the_partition_moves_on(
    pool: asyncpg.Pool, broker: DevBroker
) -> None:
    topic = f"tandem.test{uuid4().hex[:8]}.v1"
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    subscription = Subscription("test.totals", (topic,), registry(), {CounterIncremented: add_to_total})
    kafka = KafkaBroker(broker.bootstrap_servers)
    subscribe(kafka, MessageProcessor(subscription, pool, dead_letter_publisher(kafka), backoff_seconds=0))
    producer = KafkaBroker(broker.bootstrap_servers)
    await kafka.start()
    await producer.start()
    try:
        for body in (document(str(uuid4()), payload=None), document(str(uuid4()), payload={"by": 2, "reason": "x"})):
            headers = message(body).headers
            await producer.publish(json.dumps(body).encode(), topic, key=b"c1", headers=dict(headers))
        async with asyncio.timeout(20):
            while await pool.fetchval("SELECT total FROM totals WHERE stream_id = 'c1'") != 2:
                await asyncio.sleep(0.05)
    finally:
        await producer.stop()
        await kafka.stop()
    [letter] = await list_dead_letters(pool)
    assert letter.kind == "unreadable"
