"""How every command runs: load the stream, decide on its state, append at the version loaded.

    PROGRAMS: StreamKind[Program] = StreamKind("program", replay_program)

    outcome = await execute(
        store,
        PROGRAMS,
        program_id,                                  # the stream: "program-<program id>"
        decide_open_program,                         # state -> events; raises to refuse
        metadata=metadata,
        idempotency=idempotency,                     # from the HTTP edge, or None
    )
    outcome.state, outcome.version, outcome.events   # the program now, and what this command appended

    created = await create(store, PROGRAMS, lambda program_id: decide_create(command, program_id), ...)

The kernel owns the unit of work. A command that needs a transaction (an idempotency key, an
`around` step, a stream kind that others follow, a caller's connection) runs in one `UnitOfWork`:
the key's claim, the stream's load, what `around` reads and locks, the decision, the append and
whatever follows it, all on one connection, committed together; the followers are woken on commit.
A command that needs none of that loads through the pool and appends through group commit.

- `Idempotency`: a client's key for one operation, with a fingerprint of its request. The first
  request claims the key in its transaction; a retry with the same request waits for the first to
  commit and gets its answer (the state it produced), without deciding again (deciding again could
  refuse: nobody enrolls or declines twice); the same key with another request is a 422. If the
  first request failed, nothing was recorded, and the retry decides for itself.
- `ConcurrencyError` (another writer appended first) reloads and decides again, a few times.
- With a `connection`, the command joins its transaction, in a savepoint, so that a lost race is
  retried without undoing the caller's work.
- A kind's `follow(connection, state)` hook changes the write-side tables that follow the stream
  (a ledger, say) in the append's transaction.
- `around` is what else must change with the stream: `before(unit)` runs after the load and before
  deciding (e.g. lock a program's places and read how many are taken: `decide` may use it);
  `after(unit, events)` after the append (record the places taken, shred a key, admit the waitlist).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID, uuid4

import asyncpg

from tandem_kernel.clock import Clock
from tandem_kernel.errors import ConcurrencyError, DomainError
from tandem_kernel.events import DomainEvent, EventEnvelope, EventMetadata, NewEvent
from tandem_kernel.store import EventStore, UnitOfWork

__all__ = [
    "ATTEMPTS",
    "Around",
    "CommandResult",
    "Idempotency",
    "IdempotencyReused",
    "LatestStates",
    "StreamKind",
    "claim",
    "create",
    "execute",
    "record",
]

S = TypeVar("S")

ATTEMPTS = 3
"""How many times `execute` decides before a `ConcurrencyError` reaches the caller."""


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[S]):
    """A stream after a command: its state, its version, and the events this command appended."""

    state: S | None
    version: int
    events: tuple[DomainEvent, ...] = ()
    stream_id: str = ""


class StreamSource(Protocol):
    """Where a stream is read from: the store (through its pool) or a unit of work (its connection)."""

    async def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[EventEnvelope]: ...


@dataclass(frozen=True, slots=True)
class StreamKind(Generic[S]):
    """A kind of stream: how its ids are spelled, how its events fold into state, and what follows
    it in the append's transaction (`follow(connection, state)`, e.g. a ledger of pairs).

    >>> PAIRS: StreamKind[Pair] = StreamKind("pair", replay_pair, follow=save_to_ledger)
    >>> PAIRS.stream_id(pair_id)                   # "pair-<pair id>"
    >>> pair = (await PAIRS.load(store, pair_id)).state
    """

    prefix: str
    replay: Callable[[Iterable[DomainEvent], S | None], S | None]
    follow: Callable[[asyncpg.Connection, S], Any] | None = None

    def stream_id(self, key: object) -> str:
        return f"{self.prefix}-{key}"

    def key_of(self, stream_id: str) -> str | None:
        """The key in a stream id of this kind (None for another kind's)."""
        head = f"{self.prefix}-"
        return stream_id.removeprefix(head) if stream_id.startswith(head) else None

    async def load(self, source: StreamSource, key: object, *, up_to: int | None = None) -> CommandResult[S]:
        """The stream's state and version (only its first `up_to` events, if given)."""
        stream_id = self.stream_id(key)
        envelopes = await source.read_stream(stream_id)
        if up_to is not None:
            envelopes = envelopes[:up_to]
        state = self.replay((envelope.payload for envelope in envelopes), None)
        return CommandResult(state, len(envelopes), stream_id=stream_id)


class LatestStates(Generic[S]):
    """The latest state of a few streams of one kind, caught up with one read of what is new.

    >>> PROGRAM_STATES = LatestStates(PROGRAMS)
    >>> program = (await PROGRAM_STATES.load(store, program_id)).state

    A stream's events never change and its versions have no gaps (an append is refused unless it
    comes right after the version its writer read), so the state folded up to version `v`, folded
    on with the events after `v`, is the state a full read gives. A load asks PostgreSQL for the
    events after the version held — usually none: a query answering no rows instead of reading and
    decoding the whole stream — so whatever another request, process or replica committed before
    the load is seen, exactly as fresh as a full read. What protects a decision against a change
    committed *after* the load is still the append's expected version, as without the cache.

    States are shared between requests: a kind's states must be immutable (frozen dataclasses).
    States are kept per store (a store is one database), the `size` most recently loaded; a stream
    with no events is not kept (ids nobody created must not push out the programs in use).
    """

    def __init__(self, kind: StreamKind[S], *, size: int = 1000) -> None:
        self.kind = kind
        self.size = size
        self._held: weakref.WeakKeyDictionary[EventStore, OrderedDict[str, CommandResult[S]]] = (
            weakref.WeakKeyDictionary()
        )

    async def load(self, store: EventStore, key: object) -> CommandResult[S]:
        """The stream's state and version now, as `StreamKind.load` would read them."""
        stream_id = self.kind.stream_id(key)
        held = self._held.setdefault(store, OrderedDict())
        known = held.get(stream_id)
        after = known.version if known is not None else 0
        newer = await store.read_stream(stream_id, after_version=after)
        if known is not None and not newer:
            held.move_to_end(stream_id)
            return known
        state = self.kind.replay((envelope.payload for envelope in newer), known.state if known else None)
        latest = CommandResult(state, after + len(newer), stream_id=stream_id)
        current = held.get(stream_id)  # another load may have caught up meanwhile: keep the newest
        if latest.version and (current is None or current.version < latest.version):
            held[stream_id] = latest
            held.move_to_end(stream_id)
            while len(held) > self.size:
                held.popitem(last=False)
        return latest


class Around(Protocol):
    """What else changes with a command's stream, in the same unit of work (see the module docs)."""

    async def before(self, unit: UnitOfWork) -> None: ...

    async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None: ...


# -- idempotency -------------------------------------------------------------------------------


class IdempotencyReused(DomainError):
    """An Idempotency-Key already answered another request (HTTP 422)."""

    code = "idempotency-key-reused"


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A client's Idempotency-Key, scoped to one operation, with the fingerprint of its request.

    >>> Idempotency.of("POST /programs", "k-1", {"name": "Pilot"})
    """

    key: str
    request: str

    @classmethod
    def of(cls, operation: str, key: str | None, request: object) -> Idempotency | None:
        """`None` without a key. `request` is anything JSON can describe: what was asked, in full."""
        if key is None:
            return None
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
        return cls(f"{operation}:{key}", hashlib.sha256(canonical.encode()).hexdigest())


async def claim(connection: asyncpg.Connection, idempotency: Idempotency) -> dict[str, Any] | None:
    """Inside a transaction: `None` if this request now holds the key (it answers first), else the
    answer the first request recorded. Waits while a request with the same key is in flight.

    Raises `IdempotencyReused` when the key answered another request.
    """
    claimed = await connection.fetchval(
        "INSERT INTO append_idempotency (idempotency_key, request, stream_id, result) VALUES ($1, $2, '', '{}')"
        " ON CONFLICT DO NOTHING RETURNING true",
        idempotency.key,
        idempotency.request,
    )
    if claimed:
        return None
    first = await connection.fetchrow(
        "SELECT request, result::text AS result FROM append_idempotency WHERE idempotency_key = $1", idempotency.key
    )
    assert first is not None, "a claimed key is only ever removed by the rollback of its claim"
    if first["request"] is not None and first["request"] != idempotency.request:
        raise IdempotencyReused(
            "this Idempotency-Key was already used for a different request; use a new key for a new request",
            field="Idempotency-Key",
        )
    answer: dict[str, Any] = json.loads(first["result"])
    return answer


async def record(connection: asyncpg.Connection, idempotency: Idempotency, answer: dict[str, Any]) -> None:
    """Inside the claiming transaction: what a retry of this request will be answered with."""
    await connection.execute(
        "UPDATE append_idempotency SET result = $2::jsonb, stream_id = $3 WHERE idempotency_key = $1",
        idempotency.key,
        json.dumps(answer),
        str(answer.get("stream_id", "")),
    )


# -- commands ----------------------------------------------------------------------------------


async def execute(
    store: EventStore,
    kind: StreamKind[S],
    key: object,
    decide: Callable[[S | None], Sequence[DomainEvent]],
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
    occurred_at: datetime | None = None,
    connection: asyncpg.Connection | None = None,
    around: Around | None = None,
    attempts: int = ATTEMPTS,
) -> CommandResult[S]:
    """Decide on the stream's current state and append the events at the version it was loaded at.

    `occurred_at` stamps the events (default: the wall clock). Raises what `decide` raises, and
    `ConcurrencyError` if other writers got in first `attempts` times in a row.
    """
    command = _Command(kind, decide, metadata, occurred_at, around)
    transactional = idempotency is not None or around is not None or kind.follow is not None
    for attempt in range(1, attempts + 1):
        try:
            if not transactional and connection is None:
                return await command.plainly(store, key)
            async with store.transaction(connection) as unit:
                if idempotency is not None and (earlier := await claim(unit.connection, idempotency)) is not None:
                    return await _answered(unit, kind, kind.stream_id(key), earlier)
                outcome = await command.run(unit, key)
                if idempotency is not None:
                    await record(unit.connection, idempotency, _answer(outcome))
                return outcome
        except ConcurrencyError:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


async def create(
    store: EventStore,
    kind: StreamKind[S],
    decide: Callable[[UUID], Sequence[DomainEvent]],
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
    occurred_at: datetime | None = None,
    connection: asyncpg.Connection | None = None,
    around: Around | None = None,
    new_key: Callable[[], UUID] = uuid4,
) -> CommandResult[S]:
    """Start a new stream under a new key (`new_key()`): `decide(key)` returns its first events.

    A retry with the same `idempotency` finds the stream the first request started, instead of
    starting another one under another key.
    """
    async with store.transaction(connection) as unit:
        if idempotency is not None and (earlier := await claim(unit.connection, idempotency)) is not None:
            return await _answered(unit, kind, str(earlier.get("stream_id", "")), earlier)
        key = new_key()
        command = _Command(kind, lambda state: _new(state, decide, key), metadata, occurred_at, around)
        outcome = await command.run(unit, key)
        if idempotency is not None:
            await record(unit.connection, idempotency, _answer(outcome))
        return outcome


def _new(state: object, decide: Callable[[UUID], Sequence[DomainEvent]], key: UUID) -> Sequence[DomainEvent]:
    if state is not None:  # a fresh random key: only a broken key factory gets here
        raise ConcurrencyError(str(key), 0)
    return decide(key)


@dataclass(frozen=True)
class _Command(Generic[S]):
    kind: StreamKind[S]
    decide: Callable[[S | None], Sequence[DomainEvent]]
    metadata: EventMetadata
    occurred_at: datetime | None
    around: Around | None

    async def plainly(self, store: EventStore, key: object) -> CommandResult[S]:
        """Without a transaction of its own: load through the pool, append through group commit."""
        current = await self.kind.load(store, key)
        events = list(self.decide(current.state))
        if not events:
            return current
        result = await store.append(
            current.stream_id, current.version, self._new(events, store.clock), metadata=self.metadata
        )
        return CommandResult(
            self.kind.replay(events, current.state), result.stream_version, tuple(events), result.stream_id
        )

    async def run(self, unit: UnitOfWork, key: object) -> CommandResult[S]:
        """In `unit`: load, `around.before`, decide, append (and follow), `around.after`."""
        current = await self.kind.load(unit, key)
        if self.around is not None:
            await self.around.before(unit)
        events = list(self.decide(current.state))
        outcome = current
        if events:
            state = self.kind.replay(events, current.state)
            # No savepoint of the append's own: a failed append leaves the unit, rolled back whole
            # (and retried), so there is nothing to keep — two round trips less per command.
            result = await unit.append(
                current.stream_id,
                current.version,
                self._new(events, unit.store.clock),
                metadata=self.metadata,
                savepoint=False,
            )
            if self.kind.follow is not None:
                assert state is not None, f"{current.stream_id}: events that fold into no state"
                await self.kind.follow(unit.connection, state)
            outcome = CommandResult(state, result.stream_version, tuple(events), current.stream_id)
        if self.around is not None:
            await self.around.after(unit, events)
        return outcome

    def _new(self, events: list[DomainEvent], clock: Clock) -> list[NewEvent]:
        occurred_at = self.occurred_at or clock.now()
        return [NewEvent(event, occurred_at=occurred_at) for event in events]


def _answer(outcome: CommandResult[Any]) -> dict[str, Any]:
    return {"stream_id": outcome.stream_id, "stream_version": outcome.version}


async def _answered(unit: UnitOfWork, kind: StreamKind[S], stream_id: str, earlier: dict[str, Any]) -> CommandResult[S]:
    """What the first request with the same key produced: its stream as that request left it."""
    key = kind.key_of(str(earlier.get("stream_id", "")))
    if key is None or earlier.get("stream_id") != stream_id:
        raise IdempotencyReused(
            "this Idempotency-Key was already used for a different request; use a new key for a new request",
            field="Idempotency-Key",
        )
    return await kind.load(unit, key, up_to=int(earlier["stream_version"]))
