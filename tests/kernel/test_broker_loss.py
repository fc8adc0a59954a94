"""A broker that loses what it acknowledged: noticed, said, and recovered without losing or doubling an event.

The development broker keeps nothing across a restart, which is what a lost topic looks like on any
cluster. The counters service consumes its own topic, so one service shows both ends: the relay
that must publish its history again and the consumer that must apply each event exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError
from kernel.conftest import counter_settings
from kernel.counter_service import service
from kernel.events_for_tests import CounterIncremented, registry
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from tandem_kernel.api import create_app
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.events import NewEvent
from tandem_kernel.kafka import RelayProducer, TopicKeeper, ensure_topics
from tandem_kernel.relay import OutboxRelay
from tandem_kernel.runtime import Runtime
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.testing import eventually, serving

pytestmark = pytest.mark.broker

TOPIC = "tandem.counters.v1"


@pytest.fixture
def settings(identity: DevIdentity) -> Callable[..., ServiceSettings]:
    def make(database_url: str, bootstrap: str, **overrides: object) -> ServiceSettings:
        return counter_settings(database_url, bootstrap, identity, relay_topic_check_seconds=0.5, **overrides)

    return make


async def test_asking_about_a_missing_topic_never_creates_it(own_broker: DevBroker) -> None:
    bootstrap = own_broker.bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=1_000)
    await admin.start()
    await producer.start()
    try:
        described = await admin.describe_topics(["nobody.created.this"])
        with pytest.raises(UnknownTopicOrPartitionError):
            await producer.send_and_wait("nobody.created.this", b"x")
        # Created only on purpose, and then with the partitions asked for.
        await ensure_topics(bootstrap, ["on.purpose"], partitions=3)
        topics = await admin.list_topics()
        on_purpose = await admin.describe_topics(["on.purpose"])
    finally:
        await producer.stop()
        await admin.close()
    assert described[0]["error_code"] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert "nobody.created.this" not in topics
    assert len(on_purpose[0]["partitions"]) == 3


@pytest.mark.slow
async def test_a_broker_restarted_empty_under_a_running_service_gets_the_history_again_and_each_event_applies_once(
    database_url: str, own_broker: DevBroker, settings: Any, admin_headers: dict[str, str]
) -> None:
    app = create_app(service, settings(database_url, own_broker.bootstrap_servers))
    async with (
        serving(app) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers) as http,
        _store(database_url) as store,
    ):
        await eventually(lambda: _ready(http))
        losses_before = await _losses(http)
        await _append(store, "before", 60)
        await eventually(lambda: _consumed(database_url, 60), timeout=30)

        own_broker.stop()
        own_broker.forget_data()
        during = asyncio.create_task(_append(store, "during", 20))  # the service keeps taking commands
        own_broker.start()  # same port, nothing in it
        await during
        await _append(store, "after", 20)

        await eventually(lambda: _consumed(database_url, 100), timeout=90)
        await eventually(lambda: _ready(http), timeout=30)
        metrics = (await http.get("/metrics")).text
        await asyncio.sleep(2)  # a duplicate applied late would show now
        consumed, dead = await _counts(database_url)

    assert consumed == 100  # every event applied, none twice (the table's key is the event id)
    assert dead == 0
    assert _losses_in(metrics) - losses_before == 1
    assert await _partitions(own_broker.bootstrap_servers, TOPIC) == 2  # as configured, not the broker's default


@pytest.mark.slow
async def test_without_automatic_republish_the_service_is_not_ready_and_says_why_until_an_operator_republishes(
    database_url: str, own_broker: DevBroker, settings: Any, admin_headers: dict[str, str]
) -> None:
    configured = settings(database_url, own_broker.bootstrap_servers, relay_republish_when_topic_lost=False)
    async with (
        serving(create_app(service, configured)) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers) as http,
        _store(database_url) as store,
    ):
        await eventually(lambda: _ready(http))
        await _append(store, "before", 30)
        await eventually(lambda: _consumed(database_url, 30), timeout=30)

        own_broker.restart(empty=True)
        await _append(store, "after", 5)

        async def says_topic_lost() -> bool:
            readiness = await http.get("/readyz")
            return readiness.status_code == 503 and any("lost topic" in p for p in readiness.json()["problems"])

        await eventually(says_topic_lost, timeout=40)
        problems = (await http.get("/readyz")).json()["problems"]
        assert f"the broker lost topic {TOPIC}" in problems[0] and "tandem republish counters" in problems[0]
        assert f'tandem_relay_topic_lost{{topic="{TOPIC}"}} 1.0' in (await http.get("/metrics")).text

        # What `tandem republish counters` does, from another process's point of view.
        operations = Runtime(service, configured)
        await operations.open_for_operations()
        try:
            assert operations.relay is not None
            await operations.relay.republish_all()
        finally:
            await operations.close_operations()

        await eventually(lambda: _ready(http), timeout=30)
        await eventually(lambda: _consumed(database_url, 35), timeout=60)
        await asyncio.sleep(2)
        consumed, dead = await _counts(database_url)
    assert (consumed, dead) == (35, 0)


@pytest.mark.slow
async def test_a_broker_restarted_with_its_data_loses_nothing_and_needs_no_republish(
    database_url: str, own_broker: DevBroker, settings: Any, admin_headers: dict[str, str]
) -> None:
    if not own_broker.keeps_data:
        pytest.skip("this broker keeps nothing across a restart (run with TANDEM_TEST_BROKER=noida)")
    app = create_app(service, settings(database_url, own_broker.bootstrap_servers))
    async with (
        serving(app) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers) as http,
        _store(database_url) as store,
    ):
        await eventually(lambda: _ready(http))
        losses_before = await _losses(http)
        await _append(store, "before", 40)
        await eventually(lambda: _consumed(database_url, 40), timeout=30)

        own_broker.stop()
        during = asyncio.create_task(_append(store, "during", 10))
        own_broker.start()  # with everything it had
        await during
        await _append(store, "after", 10)

        await eventually(lambda: _consumed(database_url, 60), timeout=90)
        await eventually(lambda: _ready(http), timeout=30)
        metrics = (await http.get("/metrics")).text
        await asyncio.sleep(2)
        consumed, dead = await _counts(database_url)

    assert (consumed, dead) == (60, 0)
    assert _losses_in(metrics) == losses_before  # nothing was lost


# -- helpers -------------------------------------------------------------------------------------


async def test_events_published_since_the_relays_last_look_and_lost_are_noticed_though_the_new_topic_is_not_empty(
    database_url: str, own_broker: DevBroker
) -> None:
    # Found by `make run`'s test: the broker died under a batch, aiokafka's retry put part of it
    # into the re-created topic, and the relay, comparing the new ends with those of its last look
    # (taken before the lost events were published), saw progress, not a loss.
    settings = ServiceSettings(
        service_name="looking", kafka_bootstrap_servers=own_broker.bootstrap_servers, kafka_topic_partitions=2
    )
    topic = "tandem.looking.v1"
    producer = RelayProducer(settings)
    await producer.start()
    async with _store(database_url, "looking") as store:
        relay = OutboxRelay(
            store,
            producer,
            topic=topic,
            source="/tandem/looking",
            dsn=database_url,
            topics=TopicKeeper(settings, [topic]),
            topic_check_seconds=3600,  # it looks only when told to here
        )
        try:
            await relay.check_topic()  # the topic as it starts: empty, nothing published yet
            await _append(store, "published", 20)
            published: list[int] = []
            await eventually(lambda: _published(relay, published, 20))

            own_broker.restart(empty=True)
            await ensure_topics(own_broker.bootstrap_servers, [topic], partitions=2)
            await _send_one(own_broker.bootstrap_servers, topic)  # something reaches the new topic first
            losses_before = _losses_counted(topic)
            await relay.check_topic()
        finally:
            await producer.stop()

    assert _losses_counted(topic) - losses_before == 1
    assert relay.topic_problem is None  # and the history was published again


async def _published(relay: OutboxRelay, published: list[int], expected: int) -> bool:
    published.append(await relay.publish_pending())
    return sum(published) >= expected


async def _send_one(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{}", key=b"published-0", partition=0)
    finally:
        await producer.stop()


def _losses_counted(topic: str) -> float:
    return REGISTRY.get_sample_value("tandem_relay_topic_losses_total", {"topic": topic}) or 0.0


class _store:
    """A service's event store (the counters service's by default), opened beside the running
    service (as another replica would) or created for the test."""

    def __init__(self, database_url: str, schema: str = "counters") -> None:
        self.database_url, self.schema = database_url, schema

    async def __aenter__(self) -> EventStore:
        if self.schema != "counters":  # the service creates its own
            await migrate(self.database_url, self.schema)
        self.pool = await create_pool(self.database_url, self.schema)
        return EventStore(self.pool, schema=self.schema, registry=registry())

    async def __aexit__(self, *exc_info: object) -> None:
        await self.pool.close()


async def _append(store: EventStore, prefix: str, count: int) -> None:
    for n in range(count):
        while True:
            try:
                await store.append(f"{prefix}-{n}", 0, [NewEvent(CounterIncremented(by=1, reason=prefix))])
                break
            except asyncpg.UndefinedTableError:  # the service is still creating its tables
                await asyncio.sleep(0.1)


async def _losses(http: httpx.AsyncClient) -> float:
    return _losses_in((await http.get("/metrics")).text)


def _losses_in(metrics: str) -> float:
    """Topic losses the relay counted (the counter lives as long as the process: compare before and after)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "tandem_relay_topic_losses_total" and sample.labels.get("topic") == TOPIC
    )


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def _counts(database_url: str) -> tuple[int, int]:
    connection = await asyncpg.connect(database_url)
    try:
        consumed = await connection.fetchval("SELECT count(*) FROM counters.consumed")
        dead = await connection.fetchval("SELECT count(*) FROM counters.dead_letters")
        return consumed, dead
    finally:
        await connection.close()


async def _consumed(database_url: str, expected: int) -> bool:
    connection = await asyncpg.connect(database_url)
    try:
        if not await connection.fetchval("SELECT to_regclass('counters.consumed') IS NOT NULL"):
            return False
        return bool(await connection.fetchval("SELECT count(*) FROM counters.consumed") >= expected)
    finally:
        await connection.close()


async def _partitions(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return len((await admin.describe_topics([topic]))[0]["partitions"])
    finally:
        await admin.close()
