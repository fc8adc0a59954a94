"""The transactional outbox relay: publishes a service's own events from its event store to Kafka.

The events table is the outbox. The relay tails it in commit-safe order (`EventStore.read_all`),
publishes a batch, waits for the broker's acknowledgements, and only then moves its checkpoint in
PostgreSQL. A crash between the two re-publishes the batch: at-least-once, never lost; consumers
deduplicate by event id. It wakes on LISTEN/NOTIFY and polls as a fallback.

One relay per service publishes at a time: the leader holds a PostgreSQL advisory lock; other
replicas wait as standbys.

The broker can lose what it acknowledged (the development broker keeps nothing across a restart; a
real cluster can lose a topic to an operator's mistake). Every few seconds, and after any failed
publish, the leader ensures its topics exist as configured and reads its topic's end offsets: none
at all after events were published, or a partition whose end went backwards, means the topic was
lost. Then the service is not ready and says why, and (by default) the relay publishes the whole
history again; consumers deduplicate by event id, so each event is still applied once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from aiokafka.errors import InvalidProducerEpoch, KafkaError, OutOfOrderSequenceNumber, UnknownProducerId
from aiokafka.structs import RecordMetadata
from opentelemetry import propagate, trace

from tandem_kernel.follower import StepFailed, StoreFollower
from tandem_kernel.kafka import TopicKeeper
from tandem_kernel.metrics import (
    EVENTS_PUBLISHED,
    RELAY_LAG_EVENTS,
    RELAY_LAG_SECONDS,
    RELAY_TOPIC_LOSSES,
    RELAY_TOPIC_LOST,
)
from tandem_kernel.store import Cursor, EventStore

__all__ = ["OutboxRelay", "Record", "RecordSender", "cloudevent_headers"]

_tracer = trace.get_tracer("tandem.relay")
log = logging.getLogger("tandem.relay")

# A republish of the history retries a batch the broker refused this many times (a broker that just
# came back answers its first requests with errors).
REPUBLISH_ATTEMPTS = 5
# What a broker answers an idempotent producer whose state it lost (a topic or the broker re-created).
_PRODUCER_STATE_LOST = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)
# How many batches one step of the relay publishes back to back, reading each next one while the
# broker acknowledges the last.
PIPELINED_BATCHES = 10
TOPIC_CHECK_TIMEOUT_SECONDS = 30.0


Record = tuple[bytes, bytes, list[tuple[str, bytes]]]
"""A Kafka record as the relay sends it: key, value, headers."""


class RecordSender(Protocol):
    """What the relay needs of a producer (`kafka.RelayProducer`): queue records, keeping each key's
    order, and hand back the futures of their acknowledgements (aiokafka's `RecordMetadata` of each
    batch: the relay keeps where the topic has got to, to notice a loss)."""

    async def send_records(self, topic: str, records: Sequence[Record]) -> Sequence[Awaitable[Any]]: ...

    async def reset(self) -> None:
        """Start again as a new producer (a new idempotent producer id, sequences from zero)."""


def cloudevent_headers(row: asyncpg.Record, source: str) -> list[tuple[str, bytes]]:
    """CloudEvents Kafka binding headers (binary mode) for a stored event (a row of
    `EventStore.read_all_wire`), plus the W3C trace context of the request that appended it."""
    headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", str(row["event_id"]).encode()),
        ("ce_type", row["event_type"].encode()),
        ("ce_source", source.encode()),
        ("ce_time", row["ce_time"].encode()),
        ("ce_subject", row["stream_id"].encode()),
        ("content-type", b"application/json"),
    ]
    if row["traceparent"]:
        headers.append(("traceparent", row["traceparent"].encode()))
    return headers


class OutboxRelay(StoreFollower):
    """Publishes `store`'s events to `topic`, leader-elected, checkpointed after broker acks.

    >>> relay = OutboxRelay(store, producer, topic="tandem.pairing.v1", source="/tandem/pairing", dsn=dsn)
    >>> task = asyncio.create_task(relay.run())   # until relay.stop()
    """

    def __init__(
        self,
        store: EventStore,
        producer: RecordSender,
        *,
        topic: str,
        source: str,
        dsn: str,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        name: str = "relay",
        broker_ready: Callable[[], Awaitable[object]] | None = None,
        topics: TopicKeeper | None = None,
        republish_when_lost: bool = True,
        topic_check_seconds: float = 5.0,
    ) -> None:
        super().__init__(store, name=name, dsn=dsn, batch_size=batch_size, poll_seconds=poll_seconds)
        self.producer = producer
        self.topic = topic
        self.source = source
        self._broker_ready = broker_ready
        self.topics = topics
        self.republish_when_lost = republish_when_lost
        self.topic_check_seconds = topic_check_seconds
        # What is wrong with the topic, in words (None: nothing); readiness reports it.
        self.topic_problem: str | None = None
        self._next_topic_check = 0.0
        # Per partition, where the topic's end is at least: the end the last check read, moved on by
        # each batch the broker acknowledges since (to one past the batch's first offset: Tansu reports
        # a many-record batch's end as that, on any broker the end is at least there). With the ends of
        # the last check alone, events published after it and lost with the broker went unnoticed
        # once anything reached the re-created topic before the next check — the retry of the very
        # batch the broker died under, say (found by `make run`'s test).
        self._reached: dict[int, int] = {}
        self._republished_before_loss: datetime | None = None
        self._cursor: Cursor | None = None  # the checkpoint, as the leader last saved it
        # The series exist from the start: a dashboard shows 0, not "no data", until a loss.
        RELAY_TOPIC_LOSSES.labels(topic)
        RELAY_TOPIC_LOST.labels(topic).set(0)

    async def before_leading(self) -> None:
        # Where the relay has got to is read again on taking the lead (after any failure too).
        self._cursor = None
        if self._broker_ready is not None:
            await self._broker_ready()

    async def step(self) -> int:
        if self.topics is not None and time.monotonic() >= self._next_topic_check:
            await self.check_topic()
        try:
            return await self.publish_pending()
        except KafkaError as error:
            # A topic the broker lost is the likeliest cause: look at it before trying again.
            self._next_topic_check = 0.0
            if isinstance(error, _PRODUCER_STATE_LOST):
                await self.producer.reset()
            log.warning(
                "%s could not publish to %s (%r); checking the topic, then retrying", self.name, self.topic, error
            )
            raise StepFailed(repr(error)) from error

    # -- the topic, as the broker holds it ---------------------------------------------------------

    async def check_topic(self) -> None:
        """Ensure the topics; if the broker lost this one, say so and (by default) publish the history again.

        The problem stays until the history is whole again: republished here, or by `tandem republish`.
        """
        assert self.topics is not None
        self._next_topic_check = time.monotonic() + self.topic_check_seconds
        async with asyncio.timeout(TOPIC_CHECK_TIMEOUT_SECONDS):  # a broker that hangs fails the step, visibly
            await self.topics.ensure()
            end_offsets = await self.topics.end_offsets(self.topic) or {}
        published = await self.checkpoint() != Cursor.origin()
        lost = _why_lost(end_offsets, self._reached) if published else None
        self._reached = end_offsets
        if lost is not None:
            await self._report_loss(lost)
        if self.topic_problem is None:
            return
        if self.republish_when_lost:
            count = await self.republish_all()
            self._reached = await self.topics.end_offsets(self.topic) or {}
            log.warning("%s published %d events to %s again after the broker lost them", self.name, count, self.topic)
            self._recovered()
        elif await self._republished_since_loss():
            self._recovered()

    async def _report_loss(self, why: str) -> None:
        if self.topic_problem is None:
            RELAY_TOPIC_LOSSES.labels(self.topic).inc()
            # The broker forgot the producer's sequence numbers along with the topic.
            await self.producer.reset()
            self._republished_before_loss = await self.store.checkpoint_saved_at(self._republished_mark)
        RELAY_TOPIC_LOST.labels(self.topic).set(1)
        remedy = "republishing the history" if self.republish_when_lost else f"run `tandem republish {self.service}`"
        self.topic_problem = f"the broker lost topic {self.topic} ({why}): {remedy}"
        log.error("%s", self.topic_problem)

    def _recovered(self) -> None:
        log.info("%s: topic %s holds the service's history again", self.name, self.topic)
        self.topic_problem = None
        RELAY_TOPIC_LOST.labels(self.topic).set(0)

    async def _republished_since_loss(self) -> bool:
        """Whether `tandem republish` (or any replica) has published the history since the loss."""
        saved_at = await self.store.checkpoint_saved_at(self._republished_mark)
        return saved_at is not None and saved_at != self._republished_before_loss

    @property
    def _republished_mark(self) -> str:
        return f"{self.name}:republished"

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    # -- batches -------------------------------------------------------------------------------

    async def publish_pending(self) -> int:
        """Publish what follows the checkpoint, a batch at a time, moving the checkpoint after each
        batch's acknowledgements; returns how many events were published (at most
        PIPELINED_BATCHES batches, so that a stop or a topic check never waits long).

        While the broker acknowledges one batch, the next is read from PostgreSQL: the two waits
        overlap. Batches are still sent and checkpointed strictly in order.
        """
        # Only the leader moves the checkpoint: while it leads, it remembers where it has got to
        # rather than asking PostgreSQL once a step (a round trip in every event's way).
        if self._cursor is None:
            self._cursor = await self.checkpoint()
        rows = await self.store.read_all_wire(self._cursor, self.batch_size)
        published = 0
        for batch_number in range(1, PIPELINED_BATCHES + 1):
            if not rows:
                break
            sending = asyncio.ensure_future(self._publish(rows))
            after = Cursor(rows[-1]["transaction_id"], rows[-1]["position"])
            try:
                full = len(rows) == self.batch_size
                following = await self.store.read_all_wire(after, self.batch_size) if full else []
            finally:
                await sending  # even if the read failed: no send is left behind unawaited
            if await self._save_checkpoint(after):
                self._cursor = after
            else:  # another relay moved it past this batch: this one is no longer the only leader
                log.warning("%s: the checkpoint was already past what it published; reading it again", self.name)
                self._cursor = None
                return published + len(rows)
            published += len(rows)
            rows = following if batch_number < PIPELINED_BATCHES else []
        return published

    async def republish_all(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Publish the whole history again from the start, without touching the live checkpoint.

        The development broker keeps nothing across restarts; consumers deduplicate the replay.
        """
        if self.topics is not None:
            await self.topics.ensure()
        cursor, total = Cursor.origin(), 0
        while rows := await self.store.read_all_wire(cursor, self.batch_size):
            await self._publish_retrying(rows)
            cursor = Cursor(rows[-1]["transaction_id"], rows[-1]["position"])
            total += len(rows)
            if progress:
                progress(len(rows))
        # Marks the history as whole again (a relay that saw the topic lost waits for this).
        await self.store.save_checkpoint(self._republished_mark, cursor)
        return total

    async def _publish_retrying(self, rows: list[asyncpg.Record]) -> None:
        for attempt in range(1, REPUBLISH_ATTEMPTS + 1):
            try:
                await self._publish(rows)
                return
            except KafkaError as error:
                if attempt == REPUBLISH_ATTEMPTS:
                    raise
                if isinstance(error, _PRODUCER_STATE_LOST):
                    await self.producer.reset()
                log.warning(
                    "republishing to %s: %r; attempt %d of %d", self.topic, error, attempt + 1, REPUBLISH_ATTEMPTS
                )
                await asyncio.sleep(0.2 * 2**attempt)

    async def _publish(self, rows: list[asyncpg.Record]) -> None:
        """Send a batch and wait for every acknowledgement. Records of a stream share a key, hence a
        partition, and the producer sends a partition's batches one after another: order is kept."""
        with _tracer.start_as_current_span(
            f"{self.topic} publish",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": self.topic,
                "messaging.batch.message_count": len(rows),
            },
        ):
            # The request that appended an event stays its consumer's parent (one trace from HTTP to
            # the read models); an event appended outside any trace gets this batch as its parent.
            batch_context: dict[str, str] = {}
            propagate.inject(batch_context)
            orphan_parent = [("traceparent", batch_context["traceparent"].encode())] if batch_context else []
            records = []
            for row in rows:
                headers = cloudevent_headers(row, self.source)
                if not row["traceparent"]:
                    headers += orphan_parent
                records.append((row["stream_id"].encode(), row["document"].encode(), headers))
            acknowledged = await asyncio.gather(*await self.producer.send_records(self.topic, records))
        EVENTS_PUBLISHED.labels(self.topic).inc(len(rows))
        for batch in acknowledged:
            if isinstance(batch, RecordMetadata):
                self._reached[batch.partition] = max(self._reached.get(batch.partition, 0), batch.offset + 1)

    # -- checkpoint and lag --------------------------------------------------------------------

    async def checkpoint(self) -> Cursor:
        return await self.store.checkpoint(self.name)

    async def _save_checkpoint(self, cursor: Cursor) -> bool:
        """Move the checkpoint forward (never back: a leader that lost its lock unnoticed, publishing
        from where it remembers, must not drag it back); False if it was already past `cursor`."""
        return await self.store.save_checkpoint(self.name, cursor, forward_only=True)

    async def lag(self) -> tuple[int, float]:
        """Committed events not yet acknowledged, and the age in seconds of the oldest of them.

        Measured from the store's positions, never from broker offsets (see devbroker).
        """
        return await self.store.events_after(await self.checkpoint())

    async def behind(self) -> int:
        events, seconds = await self.lag()
        RELAY_LAG_EVENTS.labels(self.topic).set(events)
        RELAY_LAG_SECONDS.labels(self.topic).set(seconds)
        return events


def _why_lost(end_offsets: dict[int, int], before: dict[int, int]) -> str | None:
    """Why a topic that events were published to has lost them, or None. Offsets only ever grow."""
    if not any(end_offsets.values()):
        return "it holds none of the events published to it" if end_offsets else "it is missing"
    went_back = sorted(partition for partition, end in end_offsets.items() if end < before.get(partition, 0))
    if went_back:
        return f"partition(s) {', '.join(map(str, went_back))} end before offsets they had reached"
    return None
