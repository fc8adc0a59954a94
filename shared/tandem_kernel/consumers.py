"""Idempotent consumers of other services' events, with bounded retries and dead letters.

A `Subscription` declares what a service does when an event arrives on a topic: one handler per
event type, each given the envelope and a connection inside an open transaction. The kernel writes
the inbox row (consumer, event id) in that same transaction, so a redelivered message is skipped
and effects happen once. The Kafka offset is committed only after the database commit.

Failures:
- a message that cannot be read (not JSON, unknown type or version, missing CloudEvents header)
  is dead-lettered at once: retrying cannot help;
- a handler error is retried up to `max_attempts` times, then dead-lettered;
- an infrastructure error (PostgreSQL unreachable) is retried without limit and never dead-letters:
  the message is not at fault.
Dead letters go to `<topic>.dlq` with the error in headers, and into the `dead_letters` table, from
which ops list and replay them (`tandem deadletters`). The partition then moves on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tandem_kernel.errors import UnreadableEvent
from tandem_kernel.events import DomainEvent, EventEnvelope, EventRegistry
from tandem_kernel.metrics import DEAD_LETTERS, HANDLER_SECONDS

__all__ = [
    "TRANSIENT_ERRORS",
    "DeadLetter",
    "EventHandler",
    "IncomingMessage",
    "MessageProcessor",
    "Outcome",
    "Subscription",
]

log = logging.getLogger("tandem.consumers")

EventHandler = Callable[[EventEnvelope, asyncpg.Connection], Awaitable[None]]

# Errors that say "the infrastructure is away", not "this message is bad".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)

REQUIRED_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_specversion")


@dataclass(frozen=True)
class Subscription:
    """A named consumer (its Kafka group and inbox name) of some topics, with a handler per event type.

    Event types the registry knows but `handlers` does not name are acknowledged and ignored, and so
    are the `ignored_types` a tolerant reader chose not to model; any other type is a dead letter
    (the producer published something this consumer was not built for).

    >>> Subscription("pairing.pool", topics=("tandem.enrollment.v1",), registry=enrollment_contracts,
    ...              handlers={ParticipantApproved: add_to_pool})
    """

    name: str
    topics: tuple[str, ...]
    registry: EventRegistry
    handlers: Mapping[type[DomainEvent], EventHandler] = field(default_factory=dict)
    ignored_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class IncomingMessage:
    """A Kafka record as the processor needs it, independent of the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    error_type: str
    error: str
    attempts: int
    dead_at: Any
    replayed_at: Any


class Outcome:
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead_lettered"


DeadLetterPublisher = Callable[[str, IncomingMessage, dict[str, str]], Awaitable[None]]


class MessageProcessor:
    """Applies one subscription to one message, exactly once in effect. Used by the Kafka
    subscriber and by the dead-letter replay command alike."""

    def __init__(
        self,
        subscription: Subscription,
        pool: asyncpg.Pool,
        publish_dead_letter: DeadLetterPublisher,
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.subscription = subscription
        # Handlers may append to the service's store; this wakes its relay once they committed.
        self.after_commit = after_commit
        self.pool = pool
        self.publish_dead_letter = publish_dead_letter
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.stopping = asyncio.Event()

    async def process(self, message: IncomingMessage) -> str:
        """Handle `message`; returns an `Outcome`. Raises only when stopping mid-outage (so the
        offset is not committed and the message comes again)."""
        started = time.perf_counter()
        outcome = await self._process(message)
        HANDLER_SECONDS.labels(self.subscription.name, outcome).observe(time.perf_counter() - started)
        return outcome

    async def _process(self, message: IncomingMessage) -> str:
        if message.headers.get("ce_type") in self.subscription.ignored_types:
            return Outcome.IGNORED
        try:
            envelope = self.read(message)
        except UnreadableEvent as error:
            return await self._dead_letter(message, error, attempts=1)
        handler = self.subscription.handlers.get(type(envelope.payload))
        attempts, backoff = 0, self.backoff_seconds
        while True:
            try:
                return await self._apply(envelope, message.topic, handler)
            except TRANSIENT_ERRORS as error:
                if self.stopping.is_set():
                    raise
                log.warning("consumer %s waiting for infrastructure: %s", self.subscription.name, error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as error:
                attempts += 1
                log.warning(
                    "consumer %s failed on %s (attempt %d/%d): %r",
                    self.subscription.name,
                    envelope.event_id,
                    attempts,
                    self.max_attempts,
                    error,
                )
                if attempts >= self.max_attempts:
                    return await self._dead_letter(message, error, attempts=attempts)
                await asyncio.sleep(self.backoff_seconds * attempts)

    def read(self, message: IncomingMessage) -> EventEnvelope:
        missing = [name for name in REQUIRED_HEADERS if name not in message.headers]
        if missing:
            raise UnreadableEvent(f"missing CloudEvents header(s): {', '.join(missing)}")
        if message.value is None:
            raise UnreadableEvent("message has no value")
        envelope = self.subscription.registry.envelope_from_json(message.value)
        if str(envelope.event_id) != message.headers["ce_id"] or envelope.event_type != message.headers["ce_type"]:
            raise UnreadableEvent("ce_id/ce_type headers disagree with the message body")
        return envelope

    async def _apply(self, envelope: EventEnvelope, topic: str, handler: EventHandler | None) -> str:
        async with self.pool.acquire() as connection, connection.transaction():
            first_time = await connection.fetchval(
                "INSERT INTO inbox (consumer, event_id, topic) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING true",
                self.subscription.name,
                envelope.event_id,
                topic,
            )
            if not first_time:
                return Outcome.DUPLICATE
            if handler is None:
                return Outcome.IGNORED
            await handler(envelope, connection)
        if self.after_commit is not None:
            self.after_commit()
        return Outcome.HANDLED

    async def _dead_letter(self, message: IncomingMessage, error: BaseException, *, attempts: int) -> str:
        error_headers = {
            "x-dlq-consumer": self.subscription.name,
            "x-dlq-error-type": type(error).__name__,
            "x-dlq-error": str(error)[:1000],
            "x-dlq-attempts": str(attempts),
            "x-dlq-original-topic": message.topic,
            "x-dlq-original-partition": str(message.partition),
            "x-dlq-original-offset": str(message.offset),
        }
        backoff = self.backoff_seconds
        while True:
            try:
                await self.publish_dead_letter(f"{message.topic}.dlq", message, error_headers)
                await self.pool.execute(
                    "INSERT INTO dead_letters (consumer, topic, kafka_partition, kafka_offset, message_key,"
                    " message_value, headers, error_type, error, attempts)"
                    " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)"
                    " ON CONFLICT (consumer, topic, kafka_partition, kafka_offset) DO UPDATE SET"
                    " error_type = excluded.error_type, error = excluded.error, attempts = excluded.attempts,"
                    " dead_at = now(), replayed_at = NULL",
                    self.subscription.name,
                    message.topic,
                    message.partition,
                    message.offset,
                    message.key,
                    message.value,
                    json.dumps(dict(message.headers)),
                    type(error).__name__,
                    str(error),
                    attempts,
                )
                break
            except TRANSIENT_ERRORS as outage:
                if self.stopping.is_set():
                    raise
                log.warning("cannot record dead letter yet: %s", outage)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        DEAD_LETTERS.labels(self.subscription.name, message.topic).inc()
        log.error(
            "consumer %s dead-lettered %s[%d]@%d: %s",
            self.subscription.name,
            message.topic,
            message.partition,
            message.offset,
            error,
        )
        return Outcome.DEAD_LETTERED


async def list_dead_letters(pool: asyncpg.Pool, *, include_replayed: bool = False) -> list[DeadLetter]:
    rows = await pool.fetch(
        "SELECT id, consumer, topic, kafka_partition, kafka_offset, error_type, error, attempts, dead_at, replayed_at"
        " FROM dead_letters WHERE $1 OR replayed_at IS NULL ORDER BY id",
        include_replayed,
    )
    return [
        DeadLetter(
            id=row["id"],
            consumer=row["consumer"],
            topic=row["topic"],
            partition=row["kafka_partition"],
            offset=row["kafka_offset"],
            error_type=row["error_type"],
            error=row["error"],
            attempts=row["attempts"],
            dead_at=row["dead_at"],
            replayed_at=row["replayed_at"],
        )
        for row in rows
    ]


async def replay_dead_letters(
    pool: asyncpg.Pool, processors: Sequence[MessageProcessor], ids: Sequence[int] | None = None
) -> dict[int, str]:
    """Run dead letters through their consumer again (all pending ones, or `ids`).

    Replay goes straight to the consumer that gave up, not back to the topic, so other consumer
    groups are not disturbed. A letter that fails again stays dead, with its new error.
    """
    by_name = {processor.subscription.name: processor for processor in processors}
    rows = await pool.fetch(
        "SELECT * FROM dead_letters WHERE replayed_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY id",
        list(ids) if ids is not None else None,
    )
    outcomes: dict[int, str] = {}
    for row in rows:
        processor = by_name.get(row["consumer"])
        if processor is None:
            raise LookupError(f"dead letter {row['id']} belongs to unknown consumer {row['consumer']!r}")
        message = IncomingMessage(
            topic=row["topic"],
            partition=row["kafka_partition"],
            offset=row["kafka_offset"],
            key=row["message_key"],
            value=row["message_value"],
            headers=json.loads(row["headers"]),
        )
        outcome = await processor.process(message)
        if outcome != Outcome.DEAD_LETTERED:
            await pool.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = $1", row["id"])
        outcomes[row["id"]] = outcome
    return outcomes
