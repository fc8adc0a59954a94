"""Projections: read models folded from a service's own events, rebuilt without downtime.

A projection owns a PostgreSQL schema of read-model tables (`read_schema`). It applies each batch of
events and moves its checkpoint in one transaction, so effects happen exactly once. Its handlers
write unqualified table names: the runner points `search_path` at the schema being built, which is
how a rebuild writes into fresh tables while readers keep querying `read_schema.<table>`.

An event a handler cannot apply never stalls the read model in silence. The batch is applied again
one event at a time to find it; the events before it are kept; the runner then retries it with
backoff, saying so everywhere an operator looks (`problem` for readiness, an error log naming the
event, `tandem_projection_failures_total`, `tandem_projection_stalled`, the lag gauge). After
`max_attempts` it parks the event in `projection_dead_letters` and goes on with the rest; once the
cause is fixed, `tandem projections replay <service>` applies parked events (or a rebuild does).

Rebuild (`ProjectionRunner.rebuild`): build every table anew in `<read_schema>__rebuild` from the
whole history, then, holding the live checkpoint's row lock (the live runner waits), catch up the
last events and swap the schemas by renaming them — one transaction, so readers see the old read
model until the new one has caught up, and then the new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import asyncpg

from tandem_kernel.consumers import EventHandler
from tandem_kernel.database import CONNECTION_ERRORS
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.follower import StepFailed, StoreFollower
from tandem_kernel.metrics import (
    PROJECTION_FAILURES,
    PROJECTION_LAG_EVENTS,
    PROJECTION_PARKED_EVENTS,
    PROJECTION_STALLED,
)
from tandem_kernel.store import Cursor, EventStore, StoredEvent, StoredEvents

__all__ = [
    "BatchHandler",
    "EventSource",
    "ParkedEvent",
    "Projection",
    "ProjectionRunner",
    "list_parked",
    "replay_parked",
]

log = logging.getLogger("tandem.projections")

# A dropped or terminated connection interrupts a batch; it says nothing about the event being applied.
_INTERRUPTIONS: tuple[type[BaseException], ...] = (OSError, *CONNECTION_ERRORS)


BatchHandler = Callable[[Sequence[Any], asyncpg.Connection], Awaitable[None]]
"""Applies events in the order given, in the caller's transaction (see `Projection.batch`): a sequence
of `EventEnvelope`s, or of `StoredEvent`s for a projection with `stored=True`."""

Event = EventEnvelope | StoredEvent


@dataclass(frozen=True)
class Projection:
    """A named read model: its schema, the DDL of its tables, and a handler per event type.

    Fed by the service's own events, or, with `consumes`, by what those subscriptions of the
    service retained of other services' topics (see `inbox`).

    >>> Projection("participants", read_schema="enrollment_read", ddl=PARTICIPANTS_DDL,
    ...            handlers={ParticipantEnrolled: insert_participant})
    """

    name: str
    read_schema: str
    ddl: str
    handlers: Mapping[type[DomainEvent], EventHandler] = field(default_factory=dict)
    consumes: tuple[str, ...] = ()
    # Instead of `handlers`: apply a whole batch at once (a few statements for hundreds of events,
    # e.g. with unnest), for read models that must catch up and rebuild fast. Given one event at a
    # time when the runner looks for the event a batch fails on.
    batch: BatchHandler | None = None
    # With `batch`: give it the service's own events as `StoredEvent`s (the payload's JSON, personal
    # fields opened), not as envelopes with their models built: for a fold that reads a few fields,
    # building the models was most of the cost of catching up (BENCHMARKS.md, read models).
    stored: bool = False

    def __post_init__(self) -> None:
        if self.stored and (self.batch is None or self.consumes):
            raise ValueError(f"projection {self.name}: stored=True needs a batch handler and the service's own store")

    @property
    def checkpoint_name(self) -> str:
        return f"projection:{self.name}"


@dataclass(frozen=True)
class ParkedEvent:
    """An event a projection gave up applying, as ops see it."""

    id: int
    projection: str
    event_id: UUID
    event_type: str
    stream_id: str
    position: int
    error: str
    attempts: int
    parked_at: datetime


class _EventFailed(StepFailed):
    """One event of a batch could not be applied; the events before it were."""

    def __init__(self, envelope: Event, error: Exception, applied: tuple[Cursor, int] | None) -> None:
        self.envelope = envelope
        self.error = error
        self.applied = applied
        super().__init__(f"{envelope.event_type} {envelope.event_id} at position {envelope.position}: {error!r}")


class EventSource(Protocol):
    """Where a projection reads events: the service's store, or its retained inbox (`inbox.InboxSource`)."""

    async def read_all(
        self, after: Cursor = ..., limit: int = ..., *, connection: asyncpg.Connection | None = None
    ) -> Sequence[Event]: ...

    async def events_after(self, cursor: Cursor) -> tuple[int, float]: ...

    async def read_events(self, event_ids: Sequence[UUID]) -> Sequence[Event]: ...


class ProjectionRunner(StoreFollower):
    """Keeps one projection up to date with its source: the service's event store by default."""

    def __init__(
        self,
        projection: Projection,
        store: EventStore,
        *,
        dsn: str,
        source: EventSource | None = None,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        max_attempts: int = 5,
        retry_seconds: float = 0.2,
    ) -> None:
        super().__init__(
            store,
            name=projection.checkpoint_name,
            dsn=dsn,
            batch_size=batch_size,
            poll_seconds=poll_seconds,
            retry_seconds=retry_seconds,
        )
        self.projection = projection
        self.source: EventSource = source or (StoredEvents(store) if projection.stored else store)
        self.max_attempts = max_attempts
        self.problem: str | None = None  # why the projection is stuck right now, for readiness
        self._failing: tuple[UUID, int] | None = None  # the event being retried, and attempts so far
        self._ahead: _ReadAhead | None = None

    async def create_tables(self, connection: asyncpg.Connection | None = None) -> None:
        """Create the read schema and its tables on first boot (a no-op afterwards)."""
        if connection is None:
            async with self.store.pool.acquire() as acquired:
                await self.create_tables(acquired)
            return
        async with connection.transaction():
            exists = await connection.fetchval(
                "SELECT true FROM pg_namespace WHERE nspname = $1", self.projection.read_schema
            )
            if not exists:
                await self._create_schema(connection, self.projection.read_schema)

    async def step(self) -> int:
        failed: _EventFailed | None = None
        async with self.store.pool.acquire() as connection, connection.transaction():
            cursor = await self.store.checkpoint(self.name, connection=connection, lock=True)
            try:
                applied = await self._apply_batch(connection, self.projection.read_schema, cursor)
            except _EventFailed as failure:
                applied, failed = failure.applied, failure
                if self._attempt(failure) >= self.max_attempts:
                    applied = await self._park(connection, failure, applied)
                    failed = None
            if applied is not None:
                await self.store.save_checkpoint(self.name, applied[0], connection=connection)
        if failed is not None:
            raise failed  # committed what came before it; the follower retries with backoff
        self._recovered()
        return applied[1] if applied is not None else 0

    def _attempt(self, failure: _EventFailed) -> int:
        event_id = failure.envelope.event_id
        attempts = self._failing[1] + 1 if self._failing and self._failing[0] == event_id else 1
        self._failing = (event_id, attempts)
        PROJECTION_FAILURES.labels(self.projection.name).inc()
        PROJECTION_STALLED.labels(self.projection.name).set(1)
        self.problem = (
            f"projection {self.projection.name} cannot apply {failure} (attempt {attempts}/{self.max_attempts})"
        )
        log.error("%s", self.problem)
        return attempts

    def following(self) -> None:
        super().following()
        # Another replica leads this read model now and reports its own problems; what this one saw
        # while it led is no longer its to report (found by chaos: a replica stayed not ready for good
        # after another took over and applied the event).
        if self.problem is not None:
            log.info("projection %s: another replica leads it now", self.projection.name)
        self.problem, self._failing = None, None

    def _recovered(self) -> None:
        if self.problem is not None:
            log.info("projection %s is applying events again", self.projection.name)
        self.problem, self._failing = None, None
        PROJECTION_STALLED.labels(self.projection.name).set(0)

    async def _park(
        self, connection: asyncpg.Connection, failure: _EventFailed, applied: tuple[Cursor, int] | None
    ) -> tuple[Cursor, int]:
        """Keep the event aside and move the checkpoint past it."""
        envelope = failure.envelope
        attempts = self._failing[1] if self._failing else 1
        await connection.execute(
            "INSERT INTO projection_dead_letters (projection, event_id, event_type, stream_id, position, error,"
            " attempts) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.projection.name,
            envelope.event_id,
            envelope.event_type,
            envelope.stream_id,
            envelope.position,
            repr(failure.error)[:2000],
            attempts,
        )
        PROJECTION_PARKED_EVENTS.labels(self.projection.name).inc()
        log.error(
            "projection %s parked %s %s after %d attempts; the events after it go on. Fix the cause, then "
            "`tandem projections replay`",
            self.projection.name,
            envelope.event_type,
            envelope.event_id,
            attempts,
        )
        assert envelope.transaction_id is not None
        done = applied[1] if applied is not None else 0
        return Cursor(envelope.transaction_id, envelope.position), done + 1

    async def behind(self) -> int:
        events, _ = await self.source.events_after(await self.store.checkpoint(self.name))
        PROJECTION_LAG_EVENTS.labels(self.projection.name).set(events)
        parked = await self.store.pool.fetchval(
            "SELECT count(*) FROM projection_dead_letters WHERE projection = $1 AND replayed_at IS NULL",
            self.projection.name,
        )
        PROJECTION_PARKED_EVENTS.labels(self.projection.name).set(parked)
        return events

    async def catch_up(self, timeout: float = 30.0) -> None:
        """Apply everything committed so far (tests and the CLI use this; the service runs `run`).

        An event committed behind a transaction still open elsewhere on the server becomes readable
        only when that one ends (commit order is read gap-safely): wait for it, up to `timeout`.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            while await self.step():
                pass
            if not await self.behind() or asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.02)

    async def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the read model from the whole history while the old one keeps serving.

        `progress(done, total)` is called after each batch. Returns the number of events applied.
        An event that cannot be applied stops the rebuild (the live model stays as it was).
        """
        live, building = self.projection.read_schema, f"{self.projection.read_schema}__rebuild"
        async with self.store.pool.acquire() as connection:
            async with connection.transaction():
                await connection.execute(f'DROP SCHEMA IF EXISTS "{building}" CASCADE')
                await self._create_schema(connection, building)
            total, _ = await self.source.events_after(Cursor.origin())
            cursor, done = Cursor.origin(), 0
            while True:
                async with connection.transaction():
                    applied = await self._apply_batch(connection, building, cursor)
                if applied is None:
                    break
                cursor, done = applied[0], done + applied[1]
                if progress:
                    progress(done, max(total, done))
            await _analyze(connection, building)
            async with connection.transaction():
                await self.store.checkpoint(self.name, connection=connection, lock=True)
                while (applied := await self._apply_batch(connection, building, cursor)) is not None:
                    cursor, done = applied[0], done + applied[1]
                await connection.execute(f'DROP SCHEMA IF EXISTS "{live}__old" CASCADE')
                await connection.execute(f'ALTER SCHEMA "{live}" RENAME TO "{live}__old"')
                await connection.execute(f'ALTER SCHEMA "{building}" RENAME TO "{live}"')
                await connection.execute(f'DROP SCHEMA "{live}__old" CASCADE')
                await self.store.save_checkpoint(self.name, cursor, connection=connection)
                # Whatever was parked is in the rebuilt model now (or the rebuild would have stopped).
                await connection.execute(
                    "UPDATE projection_dead_letters SET replayed_at = now(), replay_outcome = 'rebuilt'"
                    " WHERE projection = $1 AND replayed_at IS NULL",
                    self.projection.name,
                )
            if progress:
                progress(done, max(total, done))
        self._recovered()
        log.info("projection %s rebuilt from %d events", self.projection.name, done)
        return done

    async def _create_schema(self, connection: asyncpg.Connection, schema: str) -> None:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        await connection.execute(f'SET LOCAL search_path = "{schema}", {self.store.schema}, public')
        await connection.execute(self.projection.ddl)

    async def _apply_batch(
        self, connection: asyncpg.Connection, schema: str, cursor: Cursor
    ) -> tuple[Cursor, int] | None:
        """Inside the caller's transaction: apply the next batch into `schema`; None when caught up.

        Raises `_EventFailed` naming the first event that cannot be applied, with what was applied
        before it (those effects stay in the caller's transaction).
        """
        events = await self._read(cursor, connection)
        if not events:
            return None
        if len(events) == self.batch_size:  # more may be waiting: read them while these are applied
            self._ahead = _ReadAhead.start(self.source, _cursor_after(events), self.batch_size)
        await connection.execute(f'SET LOCAL search_path = "{schema}", {self.store.schema}, public')
        try:
            async with connection.transaction():  # a savepoint: one try for the whole batch
                await self.apply_many(events, connection)
        except _INTERRUPTIONS:
            raise  # the connection, not an event: the follower retries the batch (found by chaos)
        except Exception:
            return await self._apply_one_by_one(connection, events)
        return _cursor_after(events), len(events)

    async def _read(self, cursor: Cursor, connection: asyncpg.Connection) -> Sequence[Event]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            events = await ahead.taken_from(cursor)
            if events is not None:
                return events
        return await self.source.read_all(cursor, self.batch_size, connection=connection)

    async def _apply_one_by_one(self, connection: asyncpg.Connection, events: Sequence[Event]) -> tuple[Cursor, int]:
        for done, envelope in enumerate(events):
            try:
                async with connection.transaction():
                    await self.apply(envelope, connection)
            except _INTERRUPTIONS:
                raise
            except Exception as error:
                raise _EventFailed(envelope, error, (_cursor_after(events[:done]), done) if done else None) from error
        return _cursor_after(events), len(events)

    async def apply(self, envelope: Event, connection: asyncpg.Connection) -> None:
        """Apply one event with its handler (if the projection has one for its type)."""
        await self.apply_many([envelope], connection)

    async def apply_many(self, events: Sequence[Event], connection: asyncpg.Connection) -> None:
        """Apply events in order: all at once with the projection's `batch`, else one by one."""
        if self.projection.batch is not None:
            await self.projection.batch(events, connection)
            return
        for envelope in events:
            assert isinstance(envelope, EventEnvelope)  # only a batch projection reads stored events
            handler = self.projection.handlers.get(type(envelope.payload))
            if handler is not None:
                await handler(envelope, connection)


class _ReadAhead:
    """The next batch, read (on a connection of its own) and decoded while the current one is
    applied: catching up then costs about the longer of reading and applying, not both — decoding
    runs in Python while PostgreSQL writes the batch before it (measured: BENCHMARKS.md).

    A batch read ahead from a cursor is a prefix of what reading from that cursor later returns
    (reads are gap-safe: see `EventStore.read_all`), so using it changes nothing but the timing.
    """

    def __init__(self, cursor: Cursor, task: asyncio.Future[Sequence[Event]]) -> None:
        self.cursor, self.task = cursor, task

    @classmethod
    def start(cls, source: EventSource, cursor: Cursor, limit: int) -> _ReadAhead:
        task = asyncio.ensure_future(source.read_all(cursor, limit))
        # A batch nobody comes for (the runner stopped) must not log "exception never retrieved".
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return cls(cursor, task)

    async def taken_from(self, cursor: Cursor) -> Sequence[Event] | None:
        """The batch if it was read from `cursor`; None otherwise, or if reading it failed."""
        if cursor != self.cursor:
            self.task.cancel()
            return None
        try:
            return await self.task
        except Exception as error:  # the caller reads again, in its transaction, and meets the cause
            log.debug("reading ahead from %s failed: %r", cursor, error)
            return None


def _cursor_after(events: Sequence[Event]) -> Cursor:
    last = events[-1]
    assert last.transaction_id is not None
    return Cursor(last.transaction_id, last.position)


_PARKED_COLUMNS = "id, projection, event_id, event_type, stream_id, position, error, attempts, parked_at"


async def list_parked(pool: asyncpg.Pool) -> list[ParkedEvent]:
    """The events projections gave up on and that wait for an operator, oldest first."""
    rows = await pool.fetch(
        f"SELECT {_PARKED_COLUMNS} FROM projection_dead_letters WHERE replayed_at IS NULL ORDER BY id"
    )
    return [ParkedEvent(**dict(row)) for row in rows]


async def replay_parked(
    pool: asyncpg.Pool, runners: Sequence[ProjectionRunner], ids: Sequence[int] | None = None
) -> dict[int, str]:
    """Apply parked events (all waiting, or `ids`) to their live read model; each one's outcome.

    Each runs while holding its projection's checkpoint lock, so it never interleaves with the live
    runner. One that fails again stays parked, with the new error.
    """
    by_name = {runner.projection.name: runner for runner in runners}
    outcomes: dict[int, str] = {}
    for parked in await list_parked(pool):
        if ids is not None and parked.id not in ids:
            continue
        runner = by_name.get(parked.projection)
        if runner is None:
            raise LookupError(f"parked event {parked.id} belongs to unknown projection {parked.projection!r}")
        [envelope] = await runner.source.read_events([parked.event_id])
        async with pool.acquire() as connection, connection.transaction():
            await runner.store.checkpoint(runner.name, connection=connection, lock=True)
            await connection.execute(
                f'SET LOCAL search_path = "{runner.projection.read_schema}", {runner.store.schema}, public'
            )
            try:
                async with connection.transaction():
                    await runner.apply(envelope, connection)
            except Exception as error:
                await connection.execute(
                    "UPDATE projection_dead_letters SET error = $2, attempts = attempts + 1 WHERE id = $1",
                    parked.id,
                    repr(error)[:2000],
                )
                outcomes[parked.id] = "failed"
                continue
            await connection.execute(
                "UPDATE projection_dead_letters SET replayed_at = now(), replay_outcome = 'applied' WHERE id = $1",
                parked.id,
            )
        outcomes[parked.id] = "applied"
    return outcomes


async def _analyze(connection: asyncpg.Connection, schema: str) -> None:
    """Statistics for a freshly built schema's tables before it serves. Without them (until
    autovacuum gets there, if it runs at all) its first queries are planned blind: a page of 50
    planned as a sort of a whole program, seen on the participants page."""
    for table in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema):
        await connection.execute(f'ANALYZE "{schema}"."{table["tablename"]}"')
