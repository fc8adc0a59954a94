"""Idempotent consumers of other services' events, with bounded retries and dead letters.

A `Subscription` declares what a service does when an event arrives on a topic: one handler per
event type, each given the envelope and a connection inside an open transaction. The kernel writes
the inbox row (consumer, event id) in that same transaction, so a redelivered message is skipped
and effects happen once. The Kafka offset is committed only after the database commit.

A fetch of several messages is handled in one transaction (`MessageProcessor.process_batch`): one
commit, and its flush, for the whole batch instead of one per message — what bounds a consumer's
rate on ordinary disks. A batch only saves commits; it changes no outcome: if anything in it fails,
the transaction is rolled back and each message is handled on its own, exactly as below. Where a
subscription has a `BatchHandler`, runs of the events it takes are applied together in the batch's
transaction — fewer statements, the same effects.

No message can stop a consumer. `MessageProcessor.process` returns for every message but when the
service is stopping mid-outage (then the offset is not committed and the message comes again):

- a message that cannot be decoded, whatever is wrong with it, is a dead letter at once;
- a handler error is retried up to `max_attempts` times, then dead-lettered. Whether an error is
  the message's fault or the infrastructure's is decided by asking PostgreSQL, not by the error's
  class: a `ConnectionResetError` raised by the handler's own call to some peer while PostgreSQL
  answers counts as a failure of the message;
- while PostgreSQL does not answer, the message waits, without limit and without counting;
- a connection that dropped under the handler (asyncpg's client-side errors) is retried on a fresh
  one a bounded number of times without counting;
- the same event id arriving again with another body or on another topic is skipped like any
  duplicate, and recorded: a warning naming both, a metric, and a `conflicting_duplicate` dead letter.

Dead letters are kept whole in the `dead_letters` table and published to `<topic>.dlq` (see
`dead_letters`); `tandem deadletters list|replay` works on them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from opentelemetry import propagate, trace

from tandem_kernel import dead_letters
from tandem_kernel.database import CONNECTION_ERRORS
from tandem_kernel.errors import ConflictingDuplicate, UnreadableEvent
from tandem_kernel.events import DomainEvent, EventEnvelope, EventRegistry, parse_wire
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.metrics import BATCHES_SPLIT, CONFLICTING_DUPLICATES, HANDLER_SECONDS

__all__ = [
    "BatchHandler",
    "EventHandler",
    "IncomingMessage",
    "MessageProcessor",
    "Outcome",
    "Subscription",
    "fingerprint",
    "replay_dead_letters",
]

log = logging.getLogger("tandem.consumers")
_TRACER = trace.get_tracer("tandem.consumers")

EventHandler = Callable[[EventEnvelope, asyncpg.Connection], Awaitable[None]]


@dataclass(frozen=True)
class BatchHandler:
    """Applies a run of consecutive new events of `types` at once (a statement per kind of change,
    not one per event), with the same effect as their `handlers` one after another.

    Within a fetch handled in one transaction, each maximal run of such events (in fetch order; any
    other event ends the run) goes to `handle` in order. The per-event handlers stay the reference:
    a message handled alone (a batch split after a failure, a dead letter replayed) uses them.

    A run is handled in one span, linked to (not a child of) the trace of each request that caused
    one of its events; so a batch handler appends no events of its own — they would carry the
    run's trace context, not their cause's. Pair it with handlers that only write the service's tables.
    """

    types: frozenset[type[DomainEvent]]
    handle: Callable[[Sequence[EventEnvelope], asyncpg.Connection], Awaitable[None]]


# How often such an error is retried uncounted while PostgreSQL answers, before it counts.
CONNECTION_RETRIES = 10

REQUIRED_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_specversion")


@dataclass(frozen=True)
class Subscription:
    """A named consumer (its inbox name) of some topics, with a handler per event type.

    Event types the registry knows but `handlers` does not name are acknowledged and ignored (with
    `retain`: kept for the read models), and the `ignored_types` a tolerant reader chose not to
    model are ignored in any case; any other type is a dead letter (the producer published
    something this consumer was not built for). With `retain`, the inbox keeps every envelope it
    accepts, so read models fed by this subscription can be rebuilt without the broker's history.
    Without `in_batches`, each message is handled in a transaction of its own: for handlers with
    effects outside the database (a mail sent), which a batch rolled back after them would repeat
    for every message before the failing one.

    >>> Subscription("pairing.pool", topics=("tandem.enrollment.v1",), registry=enrollment_contracts,
    ...              handlers={ParticipantApproved: add_to_pool})
    """

    name: str
    topics: tuple[str, ...]
    registry: EventRegistry
    handlers: Mapping[type[DomainEvent], EventHandler] = field(default_factory=dict)
    ignored_types: frozenset[str] = frozenset()
    retain: bool = False
    in_batches: bool = True
    batch_handler: BatchHandler | None = None

    def __post_init__(self) -> None:
        if self.batch_handler is not None and not self.batch_handler.types <= set(self.handlers):
            raise ValueError(f"subscription {self.name}: every type its batch handler takes needs a handler of its own")

    def consumer_group(self, service: str) -> str:
        """The Kafka consumer group that feeds it in `service`: the service's own, shared by its
        subscriptions — one consumer fetches for all of them, where one per subscription polled the
        broker as often each, mostly for nothing (see `kafka.subscribe`) — or, for a subscription
        with effects outside the database (not `in_batches`: a mail sent), a group of its own, so
        that a slow mail server does not hold the others back."""
        return service if self.in_batches else self.name


@dataclass(frozen=True)
class _Received:
    """A decoded message: its envelope, the document as it came (what a retaining inbox keeps), and
    what tells one body from another with the same id."""

    envelope: EventEnvelope
    wire: str
    fingerprint: bytes


@dataclass(frozen=True)
class _Conflict:
    """A duplicate event id whose body, type or topic differs from the first delivery's."""

    explanation: str


class Outcome:
    HANDLED = "handled"
    RETAINED = "retained"  # no handler, kept in a retaining inbox for the read models that read it
    DUPLICATE = "duplicate"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead_lettered"


# What the service's followers read (new events for the relay, envelopes for a projection reading
# the inbox): they are woken once it committed, instead of finding it at their next poll.
_CHANGED = frozenset((Outcome.HANDLED, Outcome.RETAINED))


# Canonical JSON, made once: `json.dumps` with options builds an encoder at every call (a third of
# a fingerprint's time); the text, and so every stored fingerprint, is the same.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def fingerprint(document: Mapping[str, Any]) -> bytes:
    """What makes two deliveries of one event id the same event: type, version, stream and payload."""
    keyed = [document.get(name) for name in ("event_type", "event_version", "stream_id", "stream_version", "payload")]
    return hashlib.sha256(_CANONICAL.encode(keyed).encode()).digest()


class MessageProcessor:
    """Applies one subscription to one message, exactly once in effect. Used by the Kafka
    subscriber and by the dead-letter replay command alike."""

    def __init__(
        self,
        subscription: Subscription,
        pool: asyncpg.Pool,
        publish_dead_letter: dead_letters.DeadLetterPublisher,
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.subscription = subscription
        # Handlers may append to the service's store, a retaining inbox feeds projections: this wakes
        # the service's followers (relay, projections) once either committed.
        self.after_commit = after_commit
        self.pool = pool
        self.dead_letters = dead_letters.DeadLetterBox(pool, subscription.name, publish_dead_letter)
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
            received = self.read(message)
        except UnreadableEvent as error:
            return await self._give_up(message, error, attempts=1, kind="unreadable")
        failures = connection_retries = 0
        backoff = self.backoff_seconds
        while True:
            try:
                outcome = await self._apply(received, message)
            except Exception as error:
                outage = not await self._database_answers()
                dropped = isinstance(error, CONNECTION_ERRORS) and connection_retries < CONNECTION_RETRIES
                if outage or dropped:
                    if self.stopping.is_set():
                        raise
                    connection_retries += 0 if outage else 1
                    log.warning(
                        "consumer %s %s: %r; retrying in %.1fs",
                        self.subscription.name,
                        "waiting for PostgreSQL" if outage else "lost its connection",
                        error,
                        backoff,
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(max(backoff, 0.05) * 2, 5.0)
                    continue
                failures += 1
                log.warning(
                    "consumer %s failed on %s (attempt %d/%d): %r",
                    self.subscription.name,
                    received.envelope.event_id,
                    failures,
                    self.max_attempts,
                    error,
                )
                if failures >= self.max_attempts:
                    return await self._give_up(message, error, attempts=failures, kind="failed")
                await asyncio.sleep(self.backoff_seconds * failures)
                continue
            return await self._settle(message, outcome)

    def read(self, message: IncomingMessage) -> _Received:
        """The message as an event; `UnreadableEvent` for anything that is not one."""
        missing = [name for name in REQUIRED_HEADERS if name not in message.headers]
        if missing:
            raise UnreadableEvent(f"missing CloudEvents header(s): {', '.join(missing)}")
        if message.value is None:
            raise UnreadableEvent("message has no value")
        document = parse_wire(message.value)
        envelope = self.subscription.registry.envelope_from_document(document)
        if str(envelope.event_id) != message.headers["ce_id"] or envelope.event_type != message.headers["ce_type"]:
            raise UnreadableEvent("ce_id/ce_type headers disagree with the message body")
        # The text as it came, not the parsed document written out again (as costly as the parse).
        wire = message.value.decode(json.detect_encoding(message.value))
        return _Received(envelope, wire, fingerprint(document))

    async def process_batch(self, messages: Sequence[IncomingMessage]) -> list[str]:
        """Handle `messages` (one fetch, in order within each partition) in one transaction; their
        `Outcome`s. If the batch fails, it is rolled back and each message goes through `process`
        on its own — retries, waiting for PostgreSQL and dead letters as for a single message."""
        if len(messages) < 2 or not self.subscription.in_batches:
            return [await self.process(message) for message in messages]
        started = time.perf_counter()
        outcomes: list[str] = [Outcome.IGNORED] * len(messages)
        readable: list[tuple[int, _Received]] = []
        unreadable: list[tuple[int, UnreadableEvent]] = []
        for index, message in enumerate(messages):
            if message.headers.get("ce_type") in self.subscription.ignored_types:
                continue
            try:
                readable.append((index, self.read(message)))
            except UnreadableEvent as unread:
                unreadable.append((index, unread))
        try:
            applied = await self._apply_together([(received, messages[index]) for index, received in readable])
        except Exception as error:
            BATCHES_SPLIT.labels(self.subscription.name).inc()
            log.warning(
                "consumer %s: a batch of %d messages failed (%r); rolled back, each is handled on its own",
                self.subscription.name,
                len(messages),
                error,
            )
            return [await self.process(message) for message in messages]
        for (index, _), outcome in zip(readable, applied, strict=True):
            outcomes[index] = await self._settle(messages[index], outcome)
        for index, reason in unreadable:
            outcomes[index] = await self._give_up(messages[index], reason, attempts=1, kind="unreadable")
        share = (time.perf_counter() - started) / len(messages)
        for outcome in outcomes:
            HANDLER_SECONDS.labels(self.subscription.name, outcome).observe(share)
        return outcomes

    async def _apply_together(self, batch: Sequence[tuple[_Received, IncomingMessage]]) -> list[str | _Conflict]:
        outcomes: list[str | _Conflict] = []
        together = self.subscription.batch_handler
        run: list[tuple[EventEnvelope, IncomingMessage]] = []  # consecutive new events for `together`, not applied yet
        async with self.pool.acquire() as connection, connection.transaction():
            first_times = await self._record_all(connection, batch)
            for (received, message), first_time in zip(batch, first_times, strict=True):
                if together is not None and first_time and type(received.envelope.payload) in together.types:
                    run.append((received.envelope, message))
                    outcomes.append(Outcome.HANDLED)
                    continue
                await self._handle_run(connection, run)
                with self._handling(received, message):
                    if first_time:
                        outcomes.append(await self._handle(connection, received))
                    else:
                        outcomes.append(await self._duplicate(connection, received, message.topic))
            await self._handle_run(connection, run)
        if self.after_commit is not None and not _CHANGED.isdisjoint(outcomes):
            self.after_commit()
        return outcomes

    async def _settle(self, message: IncomingMessage, outcome: str | _Conflict) -> str:
        """The outcome of an applied message, a conflicting duplicate recorded as such."""
        if not isinstance(outcome, _Conflict):
            return outcome
        CONFLICTING_DUPLICATES.labels(self.subscription.name).inc()
        log.warning("consumer %s: %s", self.subscription.name, outcome.explanation)
        conflict = ConflictingDuplicate(outcome.explanation)
        await self.dead_letters.record(
            message, conflict, attempts=1, kind="conflicting_duplicate", stopping=self.stopping
        )
        return Outcome.CONFLICTING_DUPLICATE

    async def _apply(self, received: _Received, message: IncomingMessage) -> str | _Conflict:
        async with self.pool.acquire() as connection, connection.transaction():
            outcome = await self._apply_on(connection, received, message)
        if self.after_commit is not None and outcome in _CHANGED:
            self.after_commit()
        return outcome

    def _handling(self, received: _Received, message: IncomingMessage) -> AbstractContextManager[trace.Span]:
        """The span of one event's handling. The broker's span covers a whole fetch; each event's
        handling joins the trace of the request that caused it (from the message's headers)."""
        return _TRACER.start_as_current_span(
            f"{self.subscription.name} handle {received.envelope.event_type}",
            context=propagate.extract(message.headers),
            kind=trace.SpanKind.CONSUMER,
        )

    async def _apply_on(
        self, connection: asyncpg.Connection, received: _Received, message: IncomingMessage
    ) -> str | _Conflict:
        """The inbox row and the handler's effects, inside the caller's transaction."""
        with self._handling(received, message):
            [first_time] = await self._record_all(connection, [(received, message)])
            if not first_time:
                return await self._duplicate(connection, received, message.topic)
            return await self._handle(connection, received)

    async def _record_all(
        self, connection: asyncpg.Connection, batch: Sequence[tuple[_Received, IncomingMessage]]
    ) -> list[bool]:
        """Inbox rows for `batch` in one statement, in its order; for each message, whether it is
        the first time its event id comes (False for one handled before or earlier in the batch)."""
        rows = await connection.fetch(
            "INSERT INTO inbox (consumer, event_id, topic, event_type, fingerprint, envelope)"
            " SELECT $1, m.event_id, m.topic, m.event_type, m.fingerprint, m.envelope::jsonb"
            " FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bytea[], $6::text[]) WITH ORDINALITY"
            " AS m (event_id, topic, event_type, fingerprint, envelope, n)"
            " ORDER BY m.n ON CONFLICT DO NOTHING RETURNING event_id",
            self.subscription.name,
            [received.envelope.event_id for received, _ in batch],
            [message.topic for _, message in batch],
            [received.envelope.event_type for received, _ in batch],
            [received.fingerprint for received, _ in batch],
            [received.wire if self.subscription.retain else None for received, _ in batch],
        )
        inserted = {row["event_id"] for row in rows}
        first_times = []
        for received, _ in batch:
            event_id = received.envelope.event_id
            first_times.append(event_id in inserted)
            inserted.discard(event_id)  # a second delivery within the batch is a duplicate
        return first_times

    async def _handle_run(
        self, connection: asyncpg.Connection, run: list[tuple[EventEnvelope, IncomingMessage]]
    ) -> None:
        """Apply (and empty) a run gathered for the subscription's batch handler: one span, linked to
        the trace of each request that caused one of its events."""
        if not run:
            return
        assert self.subscription.batch_handler is not None
        links = [
            trace.Link(context)
            for context in (
                trace.get_current_span(propagate.extract(message.headers)).get_span_context() for _, message in run
            )
            if context.is_valid
        ]
        with _TRACER.start_as_current_span(
            f"{self.subscription.name} handle {len(run)} events together", kind=trace.SpanKind.CONSUMER, links=links
        ):
            await self.subscription.batch_handler.handle([envelope for envelope, _ in run], connection)
        run.clear()

    async def _handle(self, connection: asyncpg.Connection, received: _Received) -> str:
        handler = self.subscription.handlers.get(type(received.envelope.payload))
        if handler is None:
            return Outcome.RETAINED if self.subscription.retain else Outcome.IGNORED
        await handler(received.envelope, connection)
        return Outcome.HANDLED

    async def _duplicate(self, connection: asyncpg.Connection, received: _Received, topic: str) -> str | _Conflict:
        first = await connection.fetchrow(
            "SELECT topic, event_type, fingerprint FROM inbox WHERE consumer = $1 AND event_id = $2",
            self.subscription.name,
            received.envelope.event_id,
        )
        if first is None or first["fingerprint"] is None:  # handled before fingerprints were kept
            return Outcome.DUPLICATE
        differences = [
            what
            for what, same in (
                ("topic", first["topic"] == topic),
                ("type", first["event_type"] == received.envelope.event_type),
                ("payload", first["fingerprint"] == received.fingerprint),
            )
            if not same
        ]
        if not differences:
            return Outcome.DUPLICATE
        return _Conflict(
            f"event {received.envelope.event_id} arrived on {topic} with another {' and '.join(differences)} than "
            f"when it was first handled (from {first['topic']}): the first stays applied, this one is skipped"
        )

    async def _give_up(self, message: IncomingMessage, error: BaseException, *, attempts: int, kind: str) -> str:
        await self.dead_letters.record(message, error, attempts=attempts, kind=kind, stopping=self.stopping)
        return Outcome.DEAD_LETTERED

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(2):
                return await self.pool.fetchval("SELECT true") is True
        except Exception:
            return False


async def replay_dead_letters(
    pool: asyncpg.Pool, processors: Sequence[MessageProcessor], ids: Sequence[int] | None = None
) -> dict[int, str]:
    """Run dead letters through their consumer again (all waiting ones, or `ids`); their outcomes.

    Replay goes straight to the consumer that gave up, not back to the topic, so other consumer
    groups are not disturbed. Each letter replays its own stored body. A letter that fails again
    is marked so and a new letter records the new failure. A conflicting duplicate is not run
    again (the first body stays applied): replaying it only closes it.
    """
    by_name = {processor.subscription.name: processor for processor in processors}
    outcomes: dict[int, str] = {}
    for row in await dead_letters.waiting(pool, ids):
        processor = by_name.get(row["consumer"])
        if processor is None:
            raise LookupError(f"dead letter {row['id']} belongs to unknown consumer {row['consumer']!r}")
        if row["kind"] == "conflicting_duplicate":
            outcome = "acknowledged"
        else:
            outcome = await processor.process(
                IncomingMessage(
                    topic=row["topic"],
                    partition=row["kafka_partition"],
                    offset=row["kafka_offset"],
                    key=row["message_key"],
                    value=row["message_value"],
                    headers=json.loads(row["headers"]),
                )
            )
        await dead_letters.mark(pool, row["id"], outcome)
        outcomes[row["id"]] = outcome
    return outcomes
