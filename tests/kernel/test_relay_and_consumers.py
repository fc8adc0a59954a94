"""Outbox relay and idempotent consumers against the real Kafka-protocol broker (Tansu)."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream._internal.utils.functions import is_coroutine_callable
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import BatchSubscriber, LogicSubscriber
from kernel.events_for_tests import CounterIncremented, registry
from tandem_kernel.consumers import MessageProcessor, Outcome, Subscription, replay_dead_letters
from tandem_kernel.dead_letters import list_dead_letters
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.events import EventEnvelope, NewEvent
from tandem_kernel.kafka import RelayProducer, _undecoded, dead_letter_publisher, ensure_topics, subscribe
from tandem_kernel.relay import OutboxRelay
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.testing import eventually

pytestmark = pytest.mark.broker


def unique_topic() -> str:
    return f"tandem.test{uuid4().hex[:8]}.v1"


async def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 20.0) -> list:  # type: ignore[type-arg]
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    records: list = []  # type: ignore[type-arg]
    try:
        async with asyncio.timeout(timeout):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=200)
                for partition_records in batch.values():
                    records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


@pytest.fixture
async def producer(broker: DevBroker) -> AsyncIterator[RelayProducer]:
    """The relay's producer, as a service builds it."""
    relay_producer = RelayProducer(
        ServiceSettings(service_name="test", kafka_bootstrap_servers=broker.bootstrap_servers)
    )
    await relay_producer.start()
    try:
        yield relay_producer
    finally:
        await relay_producer.stop()


async def test_the_relay_publishes_each_event_keyed_by_stream_with_cloudevents_headers(
    store: EventStore, producer: RelayProducer, broker: DevBroker, database_url: str
) -> None:
    topic = unique_topic()
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=3)
    result = await store.append("counter-7", 0, [NewEvent(CounterIncremented(by=3, reason="x"))])
    relay = OutboxRelay(store, producer, topic=topic, source="/tandem/test", dsn=database_url)

    # Readable (and so published) once no older transaction is open anywhere on the server.
    published: list[int] = []
    await eventually(lambda: _publishes(relay, published))
    assert sum(published) == 1
    [record] = await read_topic(broker.bootstrap_servers, topic, 1)

    headers = {name: value.decode() for name, value in record.headers}
    assert record.key == b"counter-7"
    assert headers["ce_id"] == str(result.event_ids[0])
    assert headers["ce_type"] == "test.CounterIncremented"
    assert headers["ce_source"] == "/tandem/test"
    assert headers["ce_subject"] == "counter-7"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_time"].endswith("Z")
    assert "traceparent" in headers
    envelope = registry().envelope_from_json(record.value)
    assert envelope.payload == CounterIncremented(by=3, reason="x")
    assert envelope.position == result.positions[0]
    assert await relay.lag() == (0, 0.0)


async def _publishes(relay: OutboxRelay, published: list[int]) -> bool:
    published.append(await relay.publish_pending())
    return sum(published) > 0


async def test_the_relay_moves_its_checkpoint_only_after_the_broker_acknowledged(
    store: EventStore, database_url: str
) -> None:
    class RefusingProducer:
        async def send_records(self, *args: object) -> list[asyncio.Future[None]]:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(ConnectionError("broker went away"))
            return [failed]

        async def reset(self) -> None:
            pass

    await store.append("counter-1", 0, [NewEvent(CounterIncremented(by=1, reason="x"))])
    relay = OutboxRelay(store, RefusingProducer(), topic="t", source="/tandem/test", dsn=database_url)

    async def refused() -> bool:  # once the event is readable, its publication fails
        try:
            await relay.publish_pending()
        except ConnectionError:
            return True
        return False

    await eventually(refused)

    assert (await relay.lag())[0] == 1


async def test_a_running_relay_wakes_on_notify_and_a_restart_republishes_rather_than_loses(
    store: EventStore, producer: RelayProducer, broker: DevBroker, database_url: str
) -> None:
    topic = unique_topic()
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    relay = OutboxRelay(store, producer, topic=topic, source="/tandem/test", dsn=database_url, poll_seconds=30)
    running = asyncio.create_task(relay.run())
    try:
        for n in range(5):
            await store.append(f"s{n}", 0, [NewEvent(CounterIncremented(by=n, reason="x"))])
        records = await read_topic(broker.bootstrap_servers, topic, 5, timeout=10)
    finally:
        relay.stop()
        await running

    assert sorted(registry().envelope_from_json(r.value).payload.by for r in records) == [0, 1, 2, 3, 4]
    # A crash after publishing but before the checkpoint: the next leader publishes again.
    await store.pool.execute("DELETE FROM checkpoints")
    assert (
        await OutboxRelay(store, producer, topic=topic, source="/tandem/test", dsn=database_url).publish_pending() == 5
    )


async def test_a_relay_that_no_longer_leads_unnoticed_never_moves_the_checkpoint_back(
    store: EventStore, producer: RelayProducer, broker: DevBroker, database_url: str
) -> None:
    topic = unique_topic()
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)

    def relay() -> OutboxRelay:
        return OutboxRelay(store, producer, topic=topic, source="/tandem/test", dsn=database_url)

    async def published_everything(relay: OutboxRelay) -> bool:
        await relay.publish_pending()
        return (await relay.lag())[0] == 0

    stale = relay()
    await store.append("s1", 0, [NewEvent(CounterIncremented(by=1, reason="x"))])
    await eventually(lambda: published_everything(stale))  # it remembers where it got to
    for n in range(2, 5):
        await store.append(f"s{n}", 0, [NewEvent(CounterIncremented(by=n, reason="x"))])
    await eventually(lambda: published_everything(relay()))  # the leader now: the checkpoint is past s4
    moved_to = await store.checkpoint("relay")

    assert await stale.publish_pending() == 3  # published again from where it remembered: duplicates, not loss
    assert await store.checkpoint("relay") == moved_to  # but not dragged back
    assert await stale.publish_pending() == 0  # and it read the checkpoint again


# -- consumers ----------------------------------------------------------------------------------


@pytest.fixture
async def inbox_pool(database_url: str, store: EventStore) -> AsyncIterator[asyncpg.Pool]:
    await store.pool.execute("CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)")
    yield store.pool


async def add_to_total(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, CounterIncremented)
    if envelope.payload.reason == "explode":
        raise RuntimeError("handler cannot cope with explosions")
    await connection.execute(
        "INSERT INTO totals VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + $2",
        envelope.stream_id,
        envelope.payload.by,
    )


async def produce(bootstrap: str, topic: str, value: bytes, headers: dict[str, str], key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()


def wire(
    envelope_event_id: str, payload: dict[str, object], event_type: str = "test.CounterIncremented"
) -> tuple[bytes, dict[str, str]]:
    document = {
        "event_id": envelope_event_id,
        "event_type": event_type,
        "event_version": 2,
        "stream_id": "c1",
        "stream_version": 1,
        "position": 1,
        "occurred_at": "2026-11-26T10:00:00Z",
        "payload": payload,
    }
    headers = {"ce_id": envelope_event_id, "ce_type": event_type, "ce_source": "/test", "ce_specversion": "1.0"}
    return json.dumps(document).encode(), headers


async def test_a_consumer_applies_each_event_once_and_dead_letters_what_it_cannot_read(
    inbox_pool: asyncpg.Pool, broker: DevBroker
) -> None:
    topic = unique_topic()
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    subscription = Subscription("test.totals", (topic,), registry(), {CounterIncremented: add_to_total})
    kafka = KafkaBroker(broker.bootstrap_servers)
    processor = MessageProcessor(
        subscription, inbox_pool, dead_letter_publisher(kafka), max_attempts=2, backoff_seconds=0
    )
    subscribe(kafka, processor)
    await kafka.start()
    try:
        good_id = str(uuid4())
        good, good_headers = wire(good_id, {"by": 5, "reason": "ok"})
        await produce(broker.bootstrap_servers, topic, good, good_headers)
        await produce(broker.bootstrap_servers, topic, good, good_headers)  # a redelivery
        await produce(broker.bootstrap_servers, topic, b"{not json", {**good_headers, "ce_id": str(uuid4())})
        missing_header = dict(good_headers)
        del missing_header["ce_type"]
        await produce(broker.bootstrap_servers, topic, good, missing_header)
        unknown, unknown_headers = wire(str(uuid4()), {}, event_type="test.Unheard")
        await produce(broker.bootstrap_servers, topic, unknown, unknown_headers)
        exploding, exploding_headers = wire(str(uuid4()), {"by": 1, "reason": "explode"})
        await produce(broker.bootstrap_servers, topic, exploding, exploding_headers)
        after, after_headers = wire(str(uuid4()), {"by": 2, "reason": "ok"})
        await produce(broker.bootstrap_servers, topic, after, after_headers)

        dead = await read_topic(broker.bootstrap_servers, f"{topic}.dlq", 4)
        async with asyncio.timeout(15):
            while await inbox_pool.fetchval("SELECT total FROM totals WHERE stream_id = 'c1'") != 7:
                await asyncio.sleep(0.05)
    finally:
        await kafka.stop()

    dead_headers = [{n: v.decode() for n, v in record.headers} for record in dead]
    assert [h["x-dlq-error-type"] for h in dead_headers] == [
        "UnreadableEvent",
        "UnreadableEvent",
        "UnknownEventType",
        "RuntimeError",
    ]
    assert dead_headers[-1]["x-dlq-attempts"] == "2"
    assert all(h["x-dlq-original-topic"] == topic for h in dead_headers)
    letters = await list_dead_letters(inbox_pool)
    assert [letter.error_type for letter in letters] == [
        "UnreadableEvent",
        "UnreadableEvent",
        "UnknownEventType",
        "RuntimeError",
    ]


async def test_a_subscription_takes_records_through_a_look_that_never_sleeps_while_idle(
    inbox_pool: asyncpg.Pool, broker: DevBroker
) -> None:
    # FastStream's loop sleeps after an empty look (a record arriving then waits for the sleep); the
    # kernel replaces the look on each subscriber. If FastStream stopped looking through it, the
    # replacement would be dead code and the sleep back: this is the shape it relies on.
    assert "self.get_msg(consumer)" in inspect.getsource(LogicSubscriber._run_consume_loop)
    # FastStream hands a plain (not async) decoder to a worker thread at every fetch.
    assert is_coroutine_callable(_undecoded)
    topic = unique_topic()
    await ensure_topics(broker.bootstrap_servers, [topic], partitions=1)
    subscription = Subscription("test.looks", (topic,), registry(), {CounterIncremented: add_to_total})
    kafka = KafkaBroker(broker.bootstrap_servers)
    subscribe(kafka, MessageProcessor(subscription, inbox_pool, dead_letter_publisher(kafka)))
    (subscriber,) = kafka.subscribers
    assert isinstance(subscriber, BatchSubscriber)
    assert subscriber.get_msg.__qualname__.startswith("_look_without_idle_sleep")
    await kafka.start()
    try:
        assert subscriber.consumer is not None
        assert await subscriber.get_msg(subscriber.consumer) == ()  # nothing there: empty, no sleep after
        body, headers = wire(str(uuid4()), {"by": 3, "reason": "ok"})
        await produce(broker.bootstrap_servers, topic, body, headers)
        async with asyncio.timeout(15):
            while await inbox_pool.fetchval("SELECT total FROM totals WHERE stream_id = 'c1'") != 3:
                await asyncio.sleep(0.05)
    finally:
        await kafka.stop()


async def test_subscriptions_of_one_service_share_one_consumer_each_taking_only_its_own_topics(
    inbox_pool: asyncpg.Pool, broker: DevBroker
) -> None:
    # One consumer polls for all of a service's subscriptions (one each polled as often, mostly for
    # nothing); each still gets only its topics' events, once, in its own inbox.
    people, pairs = unique_topic(), unique_topic()
    await ensure_topics(broker.bootstrap_servers, [people, pairs], partitions=2)
    kafka = KafkaBroker(broker.bootstrap_servers)
    processors = [
        MessageProcessor(
            Subscription(name, topics, registry(), {CounterIncremented: add_to_total}),
            inbox_pool,
            dead_letter_publisher(kafka),
        )
        for name, topics in (("test.people", (people,)), ("test.pairs", (pairs,)), ("test.both", (people, pairs)))
    ]
    subscribe(kafka, *processors, group="test-service")
    assert len(kafka.subscribers) == 1
    sent: dict[str, set[str]] = {people: set(), pairs: set()}
    for topic, count in ((people, 3), (pairs, 2)):
        for _ in range(count):
            event_id = str(uuid4())
            body, headers = wire(event_id, {"by": 1, "reason": "ok"})
            await produce(broker.bootstrap_servers, topic, body, headers, key=event_id.encode())
            sent[topic].add(event_id)
    await kafka.start()
    try:
        async with asyncio.timeout(20):
            while await inbox_pool.fetchval("SELECT count(*) FROM inbox WHERE consumer LIKE 'test.%'") < 10:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # anything more would have come by now
    finally:
        await kafka.stop()

    rows = await inbox_pool.fetch("SELECT consumer, topic, event_id::text FROM inbox WHERE consumer LIKE 'test.%'")
    taken: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        taken.setdefault(row["consumer"], set()).add((row["topic"], row["event_id"]))
    assert len(rows) == 10
    assert taken["test.people"] == {(people, event_id) for event_id in sent[people]}
    assert taken["test.pairs"] == {(pairs, event_id) for event_id in sent[pairs]}
    assert taken["test.both"] == taken["test.people"] | taken["test.pairs"]
    assert await committed(broker.bootstrap_servers, "test-service", people) == 3
    assert await committed(broker.bootstrap_servers, "test-service", pairs) == 2


def test_a_service_shares_one_consumer_group_except_for_a_subscription_with_outside_effects() -> None:
    shared = Subscription("sessions.pairs", ("tandem.pairing.v1",), registry())
    mailing = Subscription("sessions.invitations", ("tandem.sessions.v1",), registry(), in_batches=False)

    assert shared.consumer_group("sessions") == "sessions"
    assert mailing.consumer_group("sessions") == "sessions.invitations"  # a slow mail server holds only it back


async def committed(bootstrap: str, group: str, topic: str) -> int:
    """How many of `topic`'s messages `group` has committed, over its partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        return sum([await consumer.committed(partition) or 0 for partition in partitions])
    finally:
        await consumer.stop()


async def test_a_dead_letter_replayed_after_a_fix_is_applied_once(inbox_pool: asyncpg.Pool) -> None:
    failing_once = {"armed": True}

    async def flaky(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        if failing_once["armed"]:
            raise RuntimeError("bug")
        await add_to_total(envelope, connection)

    published: list[str] = []

    async def record_dlq(topic: str, *_: object) -> None:
        published.append(topic)

    subscription = Subscription("test.flaky", ("t",), registry(), {CounterIncremented: flaky})
    processor = MessageProcessor(subscription, inbox_pool, record_dlq, max_attempts=3, backoff_seconds=0)
    from tandem_kernel.consumers import IncomingMessage

    value, headers = wire(str(uuid4()), {"by": 4, "reason": "ok"})
    message = IncomingMessage("t", 0, 41, b"c1", value, headers)
    assert await processor.process(message) == Outcome.DEAD_LETTERED
    assert published == ["t.dlq"]

    failing_once["armed"] = False  # the fix is deployed
    [letter] = await list_dead_letters(inbox_pool)
    assert await replay_dead_letters(inbox_pool, [processor], [letter.id]) == {letter.id: Outcome.HANDLED}
    assert await replay_dead_letters(inbox_pool, [processor]) == {}
    assert await processor.process(message) == Outcome.DUPLICATE
    assert await inbox_pool.fetchval("SELECT total FROM totals") == 4
    assert await list_dead_letters(inbox_pool) == []


async def test_a_tolerant_reader_acknowledges_the_types_it_chose_not_to_model(inbox_pool: asyncpg.Pool) -> None:
    from tandem_kernel.consumers import IncomingMessage

    async def no_dead_letters(*_: object) -> None:
        raise AssertionError("nothing here is a dead letter")

    subscription = Subscription("test.tolerant", ("t",), registry(), {}, ignored_types=frozenset({"test.Other"}))
    processor = MessageProcessor(subscription, inbox_pool, no_dead_letters)
    value, headers = wire(str(uuid4()), {"anything": True}, event_type="test.Other")

    assert await processor.process(IncomingMessage("t", 0, 1, b"k", value, headers)) == Outcome.IGNORED
