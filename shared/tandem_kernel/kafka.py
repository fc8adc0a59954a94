"""Kafka at the edge: the FastStream broker every service uses, topic setup, and the subscriber that
feeds a `MessageProcessor`.

Tandem's Kafka clients never create a topic by asking about it. aiokafka asks for metadata with
`allow_auto_topic_creation` set, and a broker that auto-creates (Tansu always; Kafka unless
`auto.create.topics.enable=false`) then re-creates a lost topic with *its* default partition count
the moment a producer or consumer looks it up, so that the loss goes unnoticed and keys land on
other partitions. Topics are created only by `ensure_topics`, with the configured partitions, and a
topic that is missing is a visible failure (see `TopicKeeper` and the relay).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

import aiokafka.admin.client
import aiokafka.client
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.protocol.metadata import MetadataRequest
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from tandem_kernel.consumers import MessageProcessor
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.metrics import CONSUMER_LAG
from tandem_kernel.settings import ServiceSettings

__all__ = [
    "CONSUMER_BATCH_MAX",
    "CONSUMER_DRAIN_SECONDS",
    "RelayProducer",
    "TopicKeeper",
    "broker_security",
    "build_broker",
    "build_producer",
    "dead_letter_publisher",
    "ensure_topics",
    "subscribe",
]

log = logging.getLogger("tandem.kafka")

# On shutdown, how long in-flight message handlers may run before the broker stops anyway.
CONSUMER_DRAIN_SECONDS = 15.0


class _MetadataRequestWithoutCreation(MetadataRequest):  # type: ignore[misc]  # aiokafka is untyped
    """A metadata request that never asks the broker to create the topics it names."""

    def __init__(self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = False) -> None:
        super().__init__(topics, allow_auto_topic_creation)


# aiokafka builds its metadata requests in these two modules (the pinned 0.14; test_broker_loss
# checks that looking a missing topic up leaves it missing).
aiokafka.client.MetadataRequest = _MetadataRequestWithoutCreation
aiokafka.admin.client.MetadataRequest = _MetadataRequestWithoutCreation

_PARTITIONER = DefaultPartitioner()
METADATA_MAX_AGE_MS = 5_000

# The relay's producer: wait this long for more records to share a request; requests of at most
# this many bytes per partition (the broker's default message.max.bytes is 1 MiB).
RELAY_LINGER_MS = 5
RELAY_MAX_BATCH_BYTES = 512 * 1024

_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """How the service authenticates to the cluster and checks its certificates (None: plaintext).

    >>> broker_security(ServiceSettings(service_name="enrollment"))  # PLAINTEXT by default
    """
    protocol = settings.kafka_security_protocol
    tls = protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if tls else None
    if protocol.startswith("SASL_"):
        # the settings refuse SASL without a mechanism, a username and a password
        assert settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password
        return _SASL[settings.kafka_sasl_mechanism](
            settings.kafka_sasl_username,
            settings.kafka_sasl_password.get_secret_value(),
            ssl_context=context,
            use_ssl=tls,
        )
    return BaseSecurity(ssl_context=context, use_ssl=True) if tls else None


def build_broker(settings: ServiceSettings) -> KafkaBroker:
    """The service's broker: acks from all replicas, telemetry in headers, idempotence and security
    per settings."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"tandem-{settings.service_name}",
        security=broker_security(settings),
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        request_timeout_ms=10_000,
        # A topic re-created after a loss gets new partitions: consumers notice within seconds (and
        # rebalance onto them) instead of after aiokafka's default five minutes.
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        middlewares=[KafkaTelemetryMiddleware()],
        logger=logging.getLogger(f"tandem.{settings.service_name}.broker"),
        log_level=logging.DEBUG,
        graceful_timeout=CONSUMER_DRAIN_SECONDS,
    )


def build_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """The relay's producer: acks from all replicas and idempotence as the service's broker, and
    batching, so that a relay batch of hundreds of events leaves in a few requests per partition.

    The relay sends through aiokafka directly (not FastStream's publish, whose per-message
    middleware and spans cost more than the send itself); each record still carries the trace
    context of the request that appended its event.
    """
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"tandem-{settings.service_name}-relay",
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=RELAY_LINGER_MS,
        max_batch_size=RELAY_MAX_BATCH_BYTES,
        request_timeout_ms=10_000,
        **parse_security(broker_security(settings)),
    )


class RelayProducer:
    """The relay's producer for the life of a service: a fresh aiokafka producer on every connection
    attempt (one that failed to start cannot start again), built inside the event loop."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = build_producer(self.settings)
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def reset(self) -> None:
        """A new producer in place of this one. An idempotent producer's id and sequence numbers
        belong to the broker state it was given them by: once a topic is lost and re-created (or
        the broker's state is), the broker refuses them (OutOfOrderSequenceNumber) until a new
        producer id starts again from zero."""
        await self.stop()
        await self.start()

    async def send_records(
        self, topic: str, records: Sequence[tuple[bytes, bytes, list[tuple[str, bytes]]]]
    ) -> list[asyncio.Future[Any]]:
        """Queue `records` (key, value, headers) in record batches of our own, one partition's after
        another's, and return the futures of their acknowledgements.

        Building the batches here (partitioned as aiokafka's default partitioner does) instead of
        calling `send` per record saves most of the producer's per-record work. A partition's
        batches leave in the order they were filled: each key's records stay in order.
        """
        producer = self._producer
        if producer is None:
            raise KafkaConnectionError("the relay's producer is not connected")
        partitions = sorted(await producer.partitions_for(topic))
        open_batches: dict[int, Any] = {}
        acknowledgements: list[asyncio.Future[Any]] = []
        for key, value, headers in records:
            partition = _PARTITIONER(key, partitions, partitions)
            batch = open_batches.get(partition)
            if batch is None:
                batch = open_batches[partition] = producer.create_batch()
            if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:  # full: send it
                acknowledgements.append(await producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[partition] = producer.create_batch()
                if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                    raise ValueError(f"a record of {len(value):,} bytes does not fit in a batch")
        for partition, batch in open_batches.items():
            acknowledgements.append(await producer.send_batch(batch, topic, partition=partition))
        return acknowledgements


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    partitions: int,
    replication_factor: int = 1,
    *,
    security: BaseSecurity | None = None,
) -> None:
    """Create `topics` (and their dead-letter topics) if missing, with `partitions` partitions; grow
    an existing one that has fewer (a broker that cannot says so in the log).

    Where an operator owns the topics (Strimzi `KafkaTopic`s), they exist already and nothing is
    created; a service whose user may not create topics keeps retrying until they appear.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000, **parse_security(security)
    )
    await admin.start()
    try:
        names = sorted({name for topic in topics for name in (topic, f"{topic}.dlq")})
        described = {entry["topic"]: entry for entry in await admin.describe_topics(names)}
        wanted = [name for name in names if described.get(name, {}).get("error_code", 3) != 0]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another replica won the race
                await admin.create_topics([NewTopic(name, partitions, replication_factor) for name in wanted])
            log.info("created topic(s) %s with %d partition(s)", ", ".join(wanted), partitions)
        for name in names:
            if name not in wanted:
                await _grow(admin, name, len(described[name]["partitions"]), partitions)
    finally:
        await admin.close()


async def _grow(admin: AIOKafkaAdminClient, topic: str, has: int, wanted: int) -> None:
    if has == wanted:
        return
    if has > wanted:
        log.warning("topic %s has %d partitions, more than the %d configured: left as it is", topic, has, wanted)
        return
    try:
        await admin.create_partitions({topic: NewPartitions(total_count=wanted)})
        log.warning("topic %s had %d partitions; grown to the %d configured", topic, has, wanted)
    except KafkaError as error:
        log.error(
            "topic %s has %d partitions, fewer than the %d configured, and the broker could not add them (%r): "
            "keys spread differently than configured until an operator fixes the topic",
            topic,
            has,
            wanted,
            error,
        )


class TopicKeeper:
    """The topics a service writes and reads, kept as configured while the broker comes and goes.

    `ensure()` (re)creates whatever is missing. `published_events_held(topic)` says how much of a topic
    the broker still holds, from its partitions' end offsets: offsets only ever grow, so a topic with
    none, or with a partition whose end went backwards, was lost and re-created (see the relay).
    """

    def __init__(self, settings: ServiceSettings, topics: Iterable[str]) -> None:
        self.settings = settings
        self.topics = sorted(set(topics))

    async def ensure(self) -> None:
        await ensure_topics(
            self.settings.kafka_bootstrap_servers,
            self.topics,
            self.settings.kafka_topic_partitions,
            self.settings.kafka_replication_factor,
            security=broker_security(self.settings),
        )

    async def end_offsets(self, topic: str) -> dict[int, int] | None:
        """Each partition's end offset, or None if the broker does not know the topic."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            request_timeout_ms=10_000,
            **parse_security(broker_security(self.settings)),
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                return None
            ends = await consumer.end_offsets([TopicPartition(topic, partition) for partition in partitions])
            return {partition.partition: offset for partition, offset in ends.items()}
        finally:
            await consumer.stop()


def dead_letter_publisher(broker: KafkaBroker):  # type: ignore[no-untyped-def]
    async def publish(topic: str, message: IncomingMessage, error_headers: dict[str, str]) -> None:
        await broker.publish(message.value or b"", topic, key=message.key, headers={**message.headers, **error_headers})

    return publish


# A consumer handles at most this many fetched messages in one transaction (see
# `MessageProcessor.process_batch`): enough to share a commit's flush among many, few enough that a
# batch's locks are held for milliseconds.
CONSUMER_BATCH_MAX = 100
# How long one look for records waits when none are buffered. It delays nothing: the look returns as
# soon as a fetch brings records (Kafka answers a waiting fetch when one arrives; see
# `ServiceSettings.kafka_fetch_max_wait_ms` for the broker that does not); it only sets how often an
# idle subscription's loop turns.
CONSUMER_LOOK_MS = 1_000


def _look_without_idle_sleep(subscriber: Any) -> None:
    """Make `subscriber` (FastStream's batch subscriber) take what the consumer has fetched as soon
    as it has it.

    FastStream's own loop looks for `batch_timeout_ms` and, when it found nothing, *sleeps* as long
    again before the next look; records that arrive during that sleep wait for it to end (on Kafka,
    where fetches answer at once, that sleep was most of a record's way to an idle service). Its loop
    calls `get_msg(consumer)` and handles what comes back unless it is empty, so this look replaces
    it on the instance; `tests/kernel/test_relay_and_consumers.py` holds FastStream to that shape.
    """

    async def get_msg(consumer: AIOKafkaConsumer) -> tuple[Any, ...]:
        fetched = await consumer.getmany(timeout_ms=CONSUMER_LOOK_MS, max_records=CONSUMER_BATCH_MAX)
        return tuple(chain.from_iterable(fetched.values()))

    subscriber.get_msg = get_msg


async def _undecoded(message: Any) -> None:
    """FastStream's decoder for our subscribers: none. `MessageProcessor.read` parses each record's
    bytes itself (and only for the event types it handles); FastStream's default would build a
    message object and parse the JSON of every record of a fetch first, to be thrown away.

    A coroutine function, because FastStream runs a plain function in a worker thread: a thread
    hand-off for every fetch, for nothing (5% of a consumer service's samples under load)."""
    return None


def _record_lag(consumer_name: str, message: KafkaMessage, records: Sequence[Any]) -> None:
    """How far behind each partition's end this subscription is, from the consumer's last fetch."""
    highwater = getattr(getattr(message, "consumer", None), "highwater", None)
    if not callable(highwater):
        return
    last = {(record.topic, record.partition): record.offset for record in records}
    for (topic, partition), offset in last.items():
        end = highwater(TopicPartition(topic, partition))
        if isinstance(end, int):
            CONSUMER_LAG.labels(consumer_name, topic, str(partition)).set(max(0, end - offset - 1))


def subscribe(
    broker: KafkaBroker, *processors: MessageProcessor, group: str | None = None, fetch_max_wait_ms: int = 500
) -> None:
    """Feed `processors` from one consumer in group `group` (default: the one processor's
    subscription name), a fetch at a time: each processor gets the fetch's records of its own
    subscription's topics, in fetch order, and handles them in its own transaction.

    One consumer for several subscriptions, because each consumer polls: on the development broker,
    which holds a fetch that finds nothing for the whole `fetch_max_wait_ms`, the eleven consumers of
    four services (one per subscription) kept 40% of a core busy on an idle platform, and the ones
    whose topics were quiet kept polling under load too.

    At-least-once: the offsets are committed after every processor's `process_batch` returned
    (which is after its database commit); if one raises (shutting down mid-outage) each partition
    is sought back to the fetch's first message there, and the fetch comes again — the processors
    that had handled it find their inbox rows and skip it.
    """
    if not processors:
        raise ValueError("subscribe needs at least one processor")
    if group is None:
        if len(processors) > 1:
            raise ValueError("several processors share a consumer group: name it")
        group = processors[0].subscription.name
    topics = sorted({topic for processor in processors for topic in processor.subscription.topics})

    subscriber = broker.subscriber(
        *topics,
        group_id=group,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        batch=True,
        max_records=CONSUMER_BATCH_MAX,
        fetch_max_wait_ms=fetch_max_wait_ms,
        decoder=_undecoded,
        title=f"{group}:{','.join(topics)}",
    )
    _look_without_idle_sleep(subscriber)

    @subscriber
    async def on_messages(message: KafkaMessage) -> None:
        records = message.raw_message
        assert isinstance(records, tuple), "subscribers here consume a fetch at a time"
        if not records:
            return
        fetched = [
            IncomingMessage(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value,
                headers={name: value.decode(errors="replace") for name, value in record.headers},
            )
            for record in records
        ]
        for processor in processors:
            own = processor.subscription.topics
            if mine := [incoming for incoming in fetched if incoming.topic in own]:
                await processor.process_batch(mine)
                _record_lag(processor.subscription.name, message, [record for record in records if record.topic in own])
