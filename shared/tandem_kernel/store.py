"""The event store: append with optimistic concurrency, read a stream, tail everything gap-safely.

Why reads are ordered by (transaction_id, position) and not by position alone: positions come from
a sequence, handed out when a row is inserted, not when its transaction commits. A transaction that
took position 10 may commit after one that took 11; a reader that saw 11 and remembered "after 11"
would skip 10 forever. Each row records its writing transaction (`pg_current_xact_id()`), and
`read_all` returns only rows whose transaction is older than the oldest one still running
(`SETTLED_BEFORE`): that set can no longer grow below the cursor, so the cursor only moves forward
over committed, final history. Writers never wait for each other (no table lock); a long-running
transaction in this database holds readers back, which is the price of never skipping. One in
another database of the same server does not: it cannot write here (see `SETTLED_BEFORE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

import asyncpg
import pydantic_core
from opentelemetry import propagate, trace

from tandem_kernel.clock import Clock, SystemClock
from tandem_kernel.errors import ConcurrencyError
from tandem_kernel.events import DomainEvent, EventEnvelope, EventMetadata, EventRegistry, NewEvent
from tandem_kernel.group_commit import GroupCommit
from tandem_kernel.metrics import EVENTS_APPENDED
from tandem_kernel.privacy import SEALED, SubjectKeys, personal_fields, strip_sealed
from tandem_kernel.telemetry import recording

__all__ = [
    "AppendResult",
    "Cursor",
    "EventStore",
    "ParsedIds",
    "StoredEvent",
    "StoredEvents",
    "UnitOfWork",
    "notify_channel",
]

_tracer = trace.get_tracer("tandem.store")


class Cursor(NamedTuple):
    """A place in commit order: every event at or before it has been read."""

    transaction_id: int
    position: int

    @classmethod
    def origin(cls) -> Cursor:
        return cls(0, 0)


ORIGIN = Cursor(0, 0)


@dataclass(frozen=True, slots=True)
class AppendResult:
    stream_id: str
    stream_version: int
    positions: tuple[int, ...]
    event_ids: tuple[UUID, ...]


class StoredEvent(NamedTuple):
    """An event of the service's own store as a read model folds it, without building its model.

    `data` is the payload as the JSON object of its type's current version: what the model dumped
    (`EventRegistry.encode`) when it was appended, personal fields opened, or `None` once erased —
    the values of the `EventEnvelope` the store would return, in their JSON form (ids and times as
    strings, enums as their values). Building the models cost most of a catch-up (BENCHMARKS.md,
    read models); a fold that reads a few fields needs none of it. Read with `StoredEvents`.
    `event_version` is the stored one, as in the envelope; `data` is upcast to the current version.
    (A named tuple: built for every event read, it costs a fraction of a frozen dataclass.)
    """

    event_id: UUID
    event_type: str
    event_version: int
    stream_id: str
    stream_version: int
    position: int
    transaction_id: int
    occurred_at: datetime
    data: dict[str, Any]


class ParsedIds(dict[str, UUID]):
    """Ids as stored events spell them (`StoredEvent.data` holds text), each parsed once: a batch
    names the same program or pair again and again. `ids[text]` is the `UUID`.
    """

    def __missing__(self, text: str) -> UUID:
        parsed = self[text] = UUID(text)
        return parsed


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel on which a schema's appends wake its readers."""
    return f"tandem_events_{schema}"


# One statement, one round trip: check the stream head, insert. A concurrent writer that passed the
# same head check loses on the (stream_id, stream_version) unique constraint. Readers are woken by
# `AppendSignal` afterwards, not by a NOTIFY in here: NOTIFY takes a server-wide lock at commit and
# holds it through the WAL flush, which would make every append on the server commit one at a time.
_APPEND = """
WITH head AS (
    SELECT coalesce(max(stream_version), 0) AS version FROM events WHERE stream_id = $1
), inserted AS (
    INSERT INTO events (event_id, stream_id, stream_version, event_type, event_version,
                        occurred_at, correlation_id, causation_id, actor, trace_context, payload, data_subject,
                        actor_role, actor_client)
    SELECT e.event_id, $1, head.version + e.ordinal, e.event_type, e.event_version,
           e.occurred_at, $3, $4, $5, $6::jsonb, e.payload, e.data_subject, $13, $14
    FROM head,
         unnest($7::uuid[], $8::text[], $9::int[], $10::timestamptz[], $11::jsonb[], $12::text[])
             WITH ORDINALITY AS e(event_id, event_type, event_version, occurred_at, payload, data_subject, ordinal)
    WHERE head.version = $2
    RETURNING position, stream_version
)
SELECT (SELECT version FROM head) AS head_version,
       (SELECT array_agg(position ORDER BY stream_version) FROM inserted) AS positions
"""

_START_STREAMS = """
WITH inserted AS (
    INSERT INTO events (event_id, stream_id, stream_version, event_type, event_version,
                        occurred_at, payload, data_subject, correlation_id, causation_id, actor, trace_context,
                        actor_role, actor_client)
    SELECT e.event_id, e.stream_id, e.stream_version, e.event_type, e.event_version, e.occurred_at, e.payload,
           e.data_subject, e.correlation_id, e.causation_id, e.actor, e.trace_context::jsonb, e.actor_role,
           e.actor_client
    FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::timestamptz[], $7::jsonb[],
                $12::text[], $8::uuid[], $9::uuid[], $10::text[], $11::text[], $13::text[], $14::text[])
         AS e(event_id, stream_id, stream_version, event_type, event_version, occurred_at, payload, data_subject,
              correlation_id, causation_id, actor, trace_context, actor_role, actor_client)
    RETURNING position
)
SELECT array_agg(position ORDER BY position) FROM inserted
"""

_COLUMNS = """event_id, event_type, event_version, stream_id, stream_version, position,
              transaction_id, occurred_at, correlation_id, causation_id, actor, actor_role, actor_client,
              trace_context, payload,
              data_subject, subject_keys.wrapped_key"""

# What a `StoredEvent` is made of (no metadata: a read model folds the payload).
# A checkpoint that may only move forward (the relay's: see `OutboxRelay._save_checkpoint`).
_ONLY_FORWARD = (
    " WHERE (checkpoints.transaction_id, checkpoints.position) < (excluded.transaction_id, excluded.position)"
)

_STORED_COLUMNS = """event_id, event_type, event_version, stream_id, stream_version, position, transaction_id,
                     occurred_at, payload, data_subject, subject_keys.wrapped_key"""

# Each event joined to its data subject's key (privacy.py): no key, no personal data.
_EVENTS_WITH_KEYS = "events LEFT JOIN subject_keys ON subject_keys.subject = events.data_subject"


class AppendSignal:
    """Wakes the store's followers after appends: at most one NOTIFY per `interval`, each in a
    transaction of its own that writes nothing, so appends never queue on NOTIFY's commit lock.

    Appends inside a caller's transaction are not signalled here (they have not committed yet):
    the caller calls `send()` after its commit, or the followers' polling picks them up.
    """

    def __init__(self, pool: asyncpg.Pool, channel: str, interval: float = 0.005) -> None:
        self.pool = pool
        self.channel = channel
        self.interval = interval
        self._pending: asyncio.Task[None] | None = None

    def send(self) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        await asyncio.sleep(self.interval)
        self._pending = None
        with contextlib.suppress(Exception):  # only a wake-up: the followers also poll
            await self.pool.execute("SELECT pg_notify($1, '')", self.channel)


class EventStore:
    """Append-only event streams in one PostgreSQL schema.

    >>> store = EventStore(pool, schema="enrollment", registry=registry)
    >>> result = await store.append("program-1", 0, [NewEvent(ProgramCreated(...))])
    >>> history = await store.read_stream("program-1")

    With a `keyring`, the `Personal[...]` fields of events that name a data subject are sealed with
    the subject's key on append and opened on read (see `privacy`); without one, nothing is sealed
    and sealed fields read as `None`.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        schema: str,
        registry: EventRegistry,
        keyring: SubjectKeys | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.registry = registry
        self.keyring = keyring
        # The service's clock (the runtime's): when commands decide, and what their events say they
        # occurred at, unless told otherwise — so a demo on a simulated clock stamps simulated time.
        self.clock: Clock = clock or SystemClock()
        self.appended = AppendSignal(pool, notify_channel(schema))
        self._group = GroupCommit(pool, self._append_alone, self._settle)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        metadata: EventMetadata | None = None,
        connection: asyncpg.Connection | None = None,
        savepoint: bool = True,
    ) -> AppendResult:
        """Append `events` to `stream_id` if it is still at `expected_version` (0: a new stream).

        Raises `ConcurrencyError` otherwise. With a `connection`, the append joins its transaction
        (commands do that through a `UnitOfWork`, which also wakes the followers on commit), in a
        savepoint when it must seal personal data, so that a failed append leaves the caller's
        transaction usable; `savepoint=False` when the caller's transaction ends at any error anyway.
        """
        if not events:
            raise ValueError("append needs at least one event")
        metadata = metadata or EventMetadata()
        span = (
            _tracer.start_as_current_span("event_store.append", attributes={"tandem.stream_id": stream_id})
            if recording()
            else contextlib.nullcontext()
        )
        with span:
            trace_context = dict(metadata.trace_context)
            if not trace_context:
                propagate.inject(trace_context)
            arguments = self._append_arguments(stream_id, expected_version, events, metadata, trace_context)
            subjects = self._subjects(events)
            if subjects and self.keyring is not None and (keys := self.keyring.remembered(subjects)) is not None:
                arguments[10], subjects = self._seal(events, keys), set()
            # Other sealing needs the subjects' keys, read or created in the append's own transaction.
            if connection is None and not subjects:
                result = cast(AppendResult, await self._group.append(arguments))
            else:
                result = await self._append_in_transaction(
                    connection, arguments, events if subjects else None, savepoint=savepoint
                )
                if connection is None:
                    self.appended.send()  # committed now
        return result

    def _subjects(self, events: Sequence[NewEvent]) -> set[str]:
        """Whose keys sealing `events` needs (nobody's without a keyring)."""
        if self.keyring is None:
            return set()
        return {
            subject
            for event in events
            if personal_fields(type(event.payload)) and (subject := event.payload.data_subject()) is not None
        }

    def _seal(self, events: Sequence[NewEvent], keys: Mapping[str, bytes]) -> list[str]:
        """The events' payloads as stored: JSON, personal fields sealed with their subject's key."""
        payloads = []
        for event in events:
            data, fields = self.registry.encode(event.payload), personal_fields(type(event.payload))
            subject = event.payload.data_subject() if fields else None
            if subject is not None and self.keyring is not None:
                data = self.keyring.seal(data, fields, subject, keys[subject])
            payloads.append(json.dumps(data))
        return payloads

    def _append_arguments(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        metadata: EventMetadata,
        trace_context: dict[str, str],
    ) -> list[Any]:
        return [
            stream_id,
            expected_version,
            metadata.correlation_id,
            metadata.causation_id,
            metadata.actor,
            json.dumps(trace_context),
            [event.event_id for event in events],
            [event.payload.event_type for event in events],
            [event.payload.event_version for event in events],
            [event.occurred_at for event in events],
            [json.dumps(self.registry.encode(event.payload)) for event in events],
            [event.payload.data_subject() for event in events],
            metadata.actor_role,
            metadata.actor_client,
        ]

    async def _append_alone(self, arguments: list[Any]) -> AppendResult:
        return await self._append_once(self.pool, arguments)

    def _settle(self, arguments: list[Any], head_version: int, positions: list[int] | None) -> AppendResult:
        """A grouped append's result: its positions, or its own ConcurrencyError (see group_commit)."""
        stream_id, expected_version, event_ids = arguments[0], arguments[1], arguments[6]
        if positions is None:
            raise ConcurrencyError(stream_id, expected_version, head_version)
        EVENTS_APPENDED.labels(self.schema).inc(len(event_ids))
        self.appended.send()
        return AppendResult(
            stream_id=stream_id,
            stream_version=expected_version + len(event_ids),
            positions=tuple(positions),
            event_ids=tuple(event_ids),
        )

    async def _append_once(self, executor: asyncpg.Pool | asyncpg.Connection, arguments: list[Any]) -> AppendResult:
        stream_id, expected_version, event_ids = arguments[0], arguments[1], arguments[6]
        try:
            row = await executor.fetchrow(_APPEND, *arguments)
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "events_event_id_key":
                raise
            raise ConcurrencyError(stream_id, expected_version) from error
        assert row is not None
        if row["positions"] is None:
            raise ConcurrencyError(stream_id, expected_version, row["head_version"])
        EVENTS_APPENDED.labels(self.schema).inc(len(event_ids))
        if executor is self.pool:
            self.appended.send()
        return AppendResult(
            stream_id=stream_id,
            stream_version=expected_version + len(event_ids),
            positions=tuple(row["positions"]),
            event_ids=tuple(event_ids),
        )

    async def _append_in_transaction(
        self,
        connection: asyncpg.Connection | None,
        arguments: list[Any],
        to_seal: Sequence[NewEvent] | None = None,
        *,
        savepoint: bool = True,
    ) -> AppendResult:
        async with _connection(self.pool, connection) as conn:
            if connection is not None and not savepoint:
                return await self._seal_and_append(conn, arguments, to_seal)
            async with conn.transaction():
                return await self._seal_and_append(conn, arguments, to_seal)

    async def _seal_and_append(
        self, conn: asyncpg.Connection, arguments: list[Any], to_seal: Sequence[NewEvent] | None
    ) -> AppendResult:
        if to_seal is not None:
            assert self.keyring is not None
            arguments[10] = self._seal(to_seal, await self.keyring.for_writing(conn, self._subjects(to_seal)))
        return await self._append_once(conn, arguments)

    async def start_streams(
        self,
        streams: Mapping[str, Sequence[NewEvent]],
        *,
        metadata: EventMetadata | None = None,
        metadata_of: Mapping[str, EventMetadata] | None = None,
        connection: asyncpg.Connection | None = None,
    ) -> list[int]:
        """Begin many new streams in one statement (all or none); returns the positions written.

        For bulk work (a matching round's proposals, an import's enrollments, the sessions of a
        batch of activated pairs): one round trip for thousands of streams. `metadata_of` gives a
        stream metadata of its own (each caused by another event, say); the others get `metadata`.
        Raises `ConcurrencyError` if any of the streams already exists.
        """
        metadata = metadata or EventMetadata()
        rows = [
            (stream_id, version, event)
            for stream_id, events in streams.items()
            for version, event in enumerate(events, start=1)
        ]
        if not rows:
            return []
        traces: dict[int, str] = {}

        def described(chosen: EventMetadata) -> tuple[EventMetadata, str]:
            if id(chosen) not in traces:
                trace_context = dict(chosen.trace_context)
                if not trace_context:
                    propagate.inject(trace_context)
                traces[id(chosen)] = json.dumps(trace_context)
            return chosen, traces[id(chosen)]

        of_stream = {
            stream_id: described(metadata_of.get(stream_id, metadata) if metadata_of else metadata)
            for stream_id in streams
        }
        contexts = [of_stream[stream_id] for stream_id, _, _ in rows]
        events = [event for _, _, event in rows]
        subjects, keys = self._subjects(events), {}
        if subjects and self.keyring is not None:
            # New streams: their subjects cannot be mid-erasure, so the keys need not share the insert's transaction.
            keys = self.keyring.remembered(subjects) or await self.keyring.for_writing(
                connection or self.pool, subjects
            )
        try:
            positions = await (connection or self.pool).fetchval(
                _START_STREAMS,
                [event.event_id for _, _, event in rows],
                [stream_id for stream_id, _, _ in rows],
                [version for _, version, _ in rows],
                [event.payload.event_type for _, _, event in rows],
                [event.payload.event_version for _, _, event in rows],
                [event.occurred_at for _, _, event in rows],
                self._seal(events, keys),
                [chosen.correlation_id for chosen, _ in contexts],
                [chosen.causation_id for chosen, _ in contexts],
                [chosen.actor for chosen, _ in contexts],
                [trace for _, trace in contexts],
                [event.payload.data_subject() for event in events],
                [chosen.actor_role for chosen, _ in contexts],
                [chosen.actor_client for chosen, _ in contexts],
            )
        except asyncpg.UniqueViolationError as error:
            stream_id = error.detail or "one of the streams"
            raise ConcurrencyError(stream_id, 0) from error
        EVENTS_APPENDED.labels(self.schema).inc(len(rows))
        if connection is None:
            self.appended.send()
        return list(positions)

    def transaction(self, connection: asyncpg.Connection | None = None) -> UnitOfWork:
        """`async with store.transaction() as unit:` one connection and one transaction for a
        command's reads and writes (see `UnitOfWork`); with `connection`, join its transaction."""
        return UnitOfWork(self, connection)

    async def read_stream(
        self, stream_id: str, *, after_version: int = 0, connection: asyncpg.Connection | None = None
    ) -> list[EventEnvelope]:
        """The events of one stream in version order (all of them, or those after `after_version`)."""
        rows = await (connection or self.pool).fetch(
            f"SELECT {_COLUMNS} FROM {_EVENTS_WITH_KEYS} WHERE stream_id = $1 AND stream_version > $2"
            " ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [self._envelope(row) for row in rows]

    async def read_events(self, event_ids: Sequence[UUID]) -> list[EventEnvelope]:
        """The events with these ids, in position order (those that exist)."""
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM {_EVENTS_WITH_KEYS} WHERE event_id = ANY($1::uuid[]) ORDER BY position",
            list(event_ids),
        )
        return [self._envelope(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        version = await self.pool.fetchval(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1", stream_id
        )
        return int(version)

    async def existing_streams(
        self, stream_ids: Sequence[str], *, connection: asyncpg.Connection | None = None
    ) -> set[str]:
        """Which of `stream_ids` have events (one query, for bulk work deciding what to start)."""
        rows = await (connection or self.pool).fetch(
            "SELECT DISTINCT stream_id FROM events WHERE stream_id = ANY($1::text[])", list(stream_ids)
        )
        return {row["stream_id"] for row in rows}

    async def read_all(
        self, after: Cursor = ORIGIN, limit: int = 1000, *, connection: asyncpg.Connection | None = None
    ) -> list[EventEnvelope]:
        """Up to `limit` committed events after `after`, in commit-safe order (see module docstring)."""
        rows = await (connection or self.pool).fetch(
            _READ_ALL.format(columns=_COLUMNS, source=_EVENTS_WITH_KEYS), str(after[0]), after[1], limit
        )
        return [self._envelope(row) for row in rows]

    async def read_all_wire(self, after: Cursor, limit: int) -> list[asyncpg.Record]:
        """Like `read_all`, but each row carries the event already encoded as its wire JSON.

        The relay ships events without decoding them: PostgreSQL builds the document.
        """
        rows: list[asyncpg.Record] = await self.pool.fetch(
            _READ_ALL.format(columns=_WIRE_COLUMNS, source="events"), str(after[0]), after[1], limit
        )
        return rows

    # -- checkpoints of the store's followers (relay, projections) -------------------------------

    async def checkpoint(
        self, name: str, *, connection: asyncpg.Connection | None = None, lock: bool = False
    ) -> Cursor:
        """Where follower `name` has got to; with `lock`, hold its row until the transaction ends."""
        row = await (connection or self.pool).fetchrow(
            "SELECT transaction_id, position FROM checkpoints WHERE name = $1" + (" FOR UPDATE" if lock else ""), name
        )
        return Cursor(row["transaction_id"], row["position"]) if row else Cursor.origin()

    async def save_checkpoint(
        self, name: str, cursor: Cursor, *, connection: asyncpg.Connection | None = None, forward_only: bool = False
    ) -> bool:
        """Move checkpoint `name` to `cursor`; with `forward_only`, never back (False: it was not moved)."""
        status = await (connection or self.pool).execute(
            "INSERT INTO checkpoints (name, transaction_id, position) VALUES ($1, $2::text::xid8, $3)"
            " ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,"
            " position = excluded.position, updated_at = now()" + (_ONLY_FORWARD if forward_only else ""),
            name,
            str(cursor.transaction_id),
            cursor.position,
        )
        return bool(status != "INSERT 0 0")

    async def checkpoint_saved_at(self, name: str) -> datetime | None:
        """When checkpoint `name` last moved (None: never)."""
        saved_at: datetime | None = await self.pool.fetchval("SELECT updated_at FROM checkpoints WHERE name = $1", name)
        return saved_at

    async def events_after(self, cursor: Cursor) -> tuple[int, float]:
        """How many committed events lie after `cursor`, and the age in seconds of the oldest."""
        row = await self.pool.fetchrow(
            "SELECT count(*) AS events, extract(epoch FROM now() - min(occurred_at)) AS seconds FROM events"
            " WHERE (transaction_id, position) > ($1::text::xid8, $2)",
            str(cursor.transaction_id),
            cursor.position,
        )
        assert row is not None
        return int(row["events"]), float(row["seconds"] or 0.0)

    def _payload(self, row: asyncpg.Record) -> DomainEvent:
        stored, subject = row["payload"], row["data_subject"]
        if self.keyring is not None and subject is not None and SEALED in stored:
            data = self.keyring.unseal(json.loads(stored), subject, row["wrapped_key"])
            return self.registry.decode(row["event_type"], row["event_version"], data, trusted=True)
        return self.registry.decode_stored(row["event_type"], row["event_version"], stored)

    def _stored(self, row: asyncpg.Record) -> StoredEvent:
        event_type, version, stored = row["event_type"], row["event_version"], row["payload"]
        if self.registry.is_current(event_type, version):
            # Stored as its model dumped it (see `_seal`): only the sealed fields need opening.
            # pydantic-core's parser: the same objects as json.loads, in about 60% of its time.
            data = pydantic_core.from_json(stored)
            if SEALED in stored:
                subject = row["data_subject"]
                if self.keyring is not None and subject is not None:
                    data = self.keyring.unseal(data, subject, row["wrapped_key"])
                else:
                    data = strip_sealed(data)
        else:  # an older version: upcast through the model, as `read_all` does
            data = self.registry.encode(self._payload(row))
        # The columns in the order of the fields (see _STORED_COLUMNS): positional, for speed.
        return StoredEvent(row[0], event_type, version, row[3], row[4], row[5], row[6], row[7], data)

    def _envelope(self, row: asyncpg.Record) -> EventEnvelope:
        payload = self._payload(row)
        trace_context = row["trace_context"]
        return EventEnvelope(
            event_id=row["event_id"],
            event_type=row["event_type"],
            event_version=row["event_version"],
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            position=row["position"],
            transaction_id=row["transaction_id"],
            occurred_at=row["occurred_at"],
            correlation_id=row["correlation_id"],
            causation_id=row["causation_id"],
            actor=row["actor"],
            actor_role=row["actor_role"],
            actor_client=row["actor_client"],
            trace_context=json.loads(trace_context) if isinstance(trace_context, str) else trace_context,
            payload=payload,
        )


class StoredEvents:
    """The store as a source of `StoredEvent`s, for a projection that folds them (`Projection(stored=True)`):
    the same events, order and cursors as `EventStore.read_all`, without building models."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def read_all(
        self, after: Cursor = ORIGIN, limit: int = 1000, *, connection: asyncpg.Connection | None = None
    ) -> list[StoredEvent]:
        store = self.store
        rows = await (connection or store.pool).fetch(
            _READ_ALL.format(columns=_STORED_COLUMNS, source=_EVENTS_WITH_KEYS), str(after[0]), after[1], limit
        )
        return [store._stored(row) for row in rows]

    async def events_after(self, cursor: Cursor) -> tuple[int, float]:
        return await self.store.events_after(cursor)

    async def read_events(self, event_ids: Sequence[UUID]) -> list[StoredEvent]:
        rows = await self.store.pool.fetch(
            f"SELECT {_STORED_COLUMNS} FROM {_EVENTS_WITH_KEYS} WHERE event_id = ANY($1::uuid[]) ORDER BY position",
            list(event_ids),
        )
        return [self.store._stored(row) for row in rows]


SETTLED_BEFORE = """(
    SELECT coalesce(min(running), pg_snapshot_xmax(pg_current_snapshot()))
    FROM pg_snapshot_xip(pg_current_snapshot()) AS running
    WHERE running::xid NOT IN (
        SELECT backend_xid FROM pg_stat_activity
        WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL
    )
)"""
"""SQL: the oldest transaction of this database still running as the statement's snapshot sees it
(or the snapshot's horizon): every transaction id below it has committed or aborted, so rows written
below it are final, and visible to the statement. This is `pg_snapshot_xmin`, except for what runs
in *other* databases of the same server, which cannot write rows here: on a shared server (`make
run`, CI, one cluster for several services) an import or a paused test elsewhere held every
service's relay and read models back. Only transactions positively seen running in another database
are passed over; one that ends between the snapshot and that look counts as possibly ours, which is
merely cautious. (Without `pg_read_all_stats`, other users' transactions show no id: cautious too.)"""

_READ_ALL = f"""
SELECT {{columns}} FROM {{source}}
WHERE (transaction_id, position) > ($1::text::xid8, $2)
  AND transaction_id < {SETTLED_BEFORE}
ORDER BY transaction_id, position
LIMIT $3
"""

# The wire document (see EventEnvelope): what goes on Kafka as the message value.
_WIRE_COLUMNS = """position, transaction_id, event_id, event_type, stream_id, occurred_at,
    to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ce_time,
    trace_context->>'traceparent' AS traceparent,
    jsonb_build_object(
        'event_id', event_id, 'event_type', event_type, 'event_version', event_version,
        'stream_id', stream_id, 'stream_version', stream_version, 'position', position,
        'occurred_at', occurred_at, 'correlation_id', correlation_id, 'causation_id', causation_id,
        'actor', actor, 'actor_role', actor_role, 'actor_client', actor_client,
        'trace_context', trace_context, 'payload', payload
    )::text AS document"""


class UnitOfWork:
    """One connection and one transaction: what a command reads, checks and appends commits together.

        async with store.transaction() as unit:
            history = await unit.read_stream("program-7")          # on the unit's connection
            await unit.append("program-7", len(history), events, metadata=metadata)
        # committed: the store's followers (relay, projections) are woken now

    Everything goes through `unit.connection`, never through the pool: a command that held a lock
    on one connection while waiting for another from the pool could deadlock with its neighbours.
    Given a `connection` (a consumer's handler, say), the unit joins its transaction in a savepoint
    and leaves the wake-up to whoever commits it.
    """

    def __init__(self, store: EventStore, connection: asyncpg.Connection | None = None) -> None:
        self.store = store
        self._given = connection
        self._borrowed: Any = None
        self._transaction: Any = None
        self._wakes = False
        self.connection: asyncpg.Connection = cast(asyncpg.Connection, None)
        self.appended = False

    async def __aenter__(self) -> UnitOfWork:
        if self._given is not None:
            self.connection = self._given
            # A bare connection gets a real transaction: then this unit commits it and wakes.
            self._wakes = not self._given.is_in_transaction()
        else:
            self._borrowed = self.store.pool.acquire()
            self.connection = await self._borrowed.__aenter__()
            self._wakes = True
        self._transaction = self.connection.transaction()
        try:
            await self._transaction.__aenter__()
        except BaseException:
            await self._release(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        try:
            await self._transaction.__aexit__(*exc_info)
        finally:
            await self._release(*exc_info)
        if exc_info[0] is None and self.appended and self._wakes:
            self.store.appended.send()  # committed now

    async def _release(self, *exc_info: Any) -> None:
        if self._borrowed is not None:
            await self._borrowed.__aexit__(*exc_info)
            self._borrowed = None

    async def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[EventEnvelope]:
        return await self.store.read_stream(stream_id, after_version=after_version, connection=self.connection)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        metadata: EventMetadata | None = None,
        savepoint: bool = True,
    ) -> AppendResult:
        result = await self.store.append(
            stream_id, expected_version, events, metadata=metadata, connection=self.connection, savepoint=savepoint
        )
        self.appended = True
        return result

    async def start_streams(
        self,
        streams: Mapping[str, Sequence[NewEvent]],
        *,
        metadata: EventMetadata | None = None,
        metadata_of: Mapping[str, EventMetadata] | None = None,
    ) -> list[int]:
        positions = await self.store.start_streams(
            streams, metadata=metadata, metadata_of=metadata_of, connection=self.connection
        )
        self.appended = self.appended or bool(positions)
        return positions


class _connection:
    """`async with`: the given connection, or one borrowed from the pool for the block."""

    def __init__(self, pool: asyncpg.Pool, connection: asyncpg.Connection | None) -> None:
        self._pool = pool
        self._given = connection
        self._borrowed: Any = None

    async def __aenter__(self) -> asyncpg.Connection:
        if self._given is not None:
            return self._given
        self._borrowed = self._pool.acquire()
        return await self._borrowed.__aenter__()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._borrowed is not None:
            await self._borrowed.__aexit__(*exc_info)
