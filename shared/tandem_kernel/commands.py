"""How every command runs: load the stream, decide on its state, append at the version loaded.

    PROGRAMS: StreamKind[Program] = StreamKind("program", replay_program)

    outcome = await execute(
        store,
        PROGRAMS,
        program_id,                                  # the stream: "program-<program id>"
        decide_open_program,                         # state -> events; raises to refuse
        metadata=metadata,
        idempotency_key=scoped("program.open", idempotency_key),
    )
    outcome.state, outcome.version, outcome.events   # the program now, and what this command appended

- An `Idempotency-Key` already used returns the state the first request produced, without deciding
  again (deciding again could refuse: nobody enrolls or declines twice). A key used for another
  stream is refused (`DomainError` on `Idempotency-Key`). Keys are scoped by operation (`scoped`):
  a client reusing one key for "enroll" and "withdraw" gets both done.
- `ConcurrencyError` (another writer appended first) reloads and decides again, a few times.
- With a `connection`, the append joins its transaction (a consumer's handler, a round's write),
  in a savepoint, so that a lost race is retried without undoing the caller's work.
- A kind's `follow(connection, state)` hook changes the write-side tables that follow the stream
  (a ledger, say) in the append's transaction.
- A `unit` is what the append runs inside when more than the stream must change with it (a
  transaction holding a lock, say). It is entered after the stream is loaded, so that nothing
  reads through the pool while holding a lock: holders waiting for a pool connection that waiters
  on their lock occupy would deadlock. `decide` runs inside it (it may read what the unit holds),
  and `unit.appended(events)` after the append. A stream that changed meanwhile fails the append.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

import asyncpg

from tandem_kernel.errors import ConcurrencyError, DomainError
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.store import AppendResult, EventStore, _connection

__all__ = ["ATTEMPTS", "CommandResult", "StreamKind", "Unit", "execute", "scoped"]

S = TypeVar("S")

ATTEMPTS = 3
"""How many times `execute` decides before a `ConcurrencyError` reaches the caller."""


@dataclass(frozen=True, slots=True)
class CommandResult(Generic[S]):
    """A stream after a command: its state, its version, and the events this command appended."""

    state: S | None
    version: int
    events: tuple[DomainEvent, ...] = ()


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
    follow: Callable[[asyncpg.Connection, S], Awaitable[None]] | None = None

    def stream_id(self, key: object) -> str:
        return f"{self.prefix}-{key}"

    def key_of(self, stream_id: str) -> str | None:
        """The key in a stream id of this kind (None for another kind's)."""
        head = f"{self.prefix}-"
        return stream_id.removeprefix(head) if stream_id.startswith(head) else None

    async def load(self, store: EventStore, key: object, *, up_to: int | None = None) -> CommandResult[S]:
        """The stream's state and version (only its first `up_to` events, if given)."""
        envelopes = await store.read_stream(self.stream_id(key))
        if up_to is not None:
            envelopes = envelopes[:up_to]
        return CommandResult(self.replay((envelope.payload for envelope in envelopes), None), len(envelopes))


class Unit(Protocol):
    """Where an append happens: in `connection`'s transaction (`None`: the store's own), followed
    by `appended`, which changes whatever else must change with it, in the same transaction."""

    @property
    def connection(self) -> asyncpg.Connection | None: ...

    async def appended(self, events: Sequence[DomainEvent]) -> None: ...


def scoped(operation: str, idempotency_key: str | None) -> str | None:
    """The key under which `operation` records a client's `Idempotency-Key`."""
    return None if idempotency_key is None else f"{operation}:{idempotency_key}"


class _AnsweredEarlier(Exception):
    """Leaves a unit: a request with the same key committed while this one decided."""

    def __init__(self, result: AppendResult) -> None:
        self.result = result


async def execute(
    store: EventStore,
    kind: StreamKind[S],
    key: object,
    decide: Callable[[S | None], Sequence[DomainEvent]],
    *,
    metadata: EventMetadata,
    idempotency_key: str | None = None,
    occurred_at: datetime | None = None,
    connection: asyncpg.Connection | None = None,
    unit: Callable[[], AbstractAsyncContextManager[Unit]] | None = None,
    attempts: int = ATTEMPTS,
) -> CommandResult[S]:
    """Decide on the stream's current state and append the events at the version it was loaded at.

    `occurred_at` stamps the events (default: the wall clock). Pass a `connection` or a `unit`,
    not both. Raises what `decide` raises, and `ConcurrencyError` if other writers got in first
    `attempts` times in a row.
    """
    if connection is not None and unit is not None:
        raise ValueError("execute joins a caller's connection or enters a unit, not both")
    stream_id = kind.stream_id(key)
    for attempt in range(1, attempts + 1):
        try:
            return await _attempt(store, kind, key, decide, metadata, idempotency_key, occurred_at, connection, unit)
        except ConcurrencyError:
            if attempt == attempts:
                raise
        except _AnsweredEarlier as answered:
            return await _replayed(store, kind, key, stream_id, answered.result)
    raise AssertionError("unreachable")


async def _attempt(
    store: EventStore,
    kind: StreamKind[S],
    key: object,
    decide: Callable[[S | None], Sequence[DomainEvent]],
    metadata: EventMetadata,
    idempotency_key: str | None,
    occurred_at: datetime | None,
    connection: asyncpg.Connection | None,
    unit: Callable[[], AbstractAsyncContextManager[Unit]] | None,
) -> CommandResult[S]:
    stream_id = kind.stream_id(key)
    # Looked up on every attempt: the writer that got in first may have been a request with this key.
    if idempotency_key is not None and (earlier := await store.recorded_append(idempotency_key)) is not None:
        raise _AnsweredEarlier(earlier)
    current = await kind.load(store, key)
    if unit is None:
        events = list(decide(current.state))
        if not events:
            return current
        return await _append(
            store, kind, stream_id, current, events, metadata, idempotency_key, occurred_at, connection
        )
    async with unit() as work:
        events = list(decide(current.state))
        outcome = current
        if events:
            outcome = await _append(
                store, kind, stream_id, current, events, metadata, idempotency_key, occurred_at, work.connection
            )
        await work.appended(events)
    return outcome


async def _append(
    store: EventStore,
    kind: StreamKind[S],
    stream_id: str,
    current: CommandResult[S],
    events: list[DomainEvent],
    metadata: EventMetadata,
    idempotency_key: str | None,
    occurred_at: datetime | None,
    connection: asyncpg.Connection | None,
) -> CommandResult[S]:
    """Append `events` (in `connection`'s transaction, if given) and run the kind's follow hook."""
    new = [NewEvent(event) if occurred_at is None else NewEvent(event, occurred_at=occurred_at) for event in events]
    state = kind.replay(events, current.state)
    if kind.follow is None:
        result = await store.append(
            stream_id, current.version, new, metadata=metadata, idempotency_key=idempotency_key, connection=connection
        )
    else:
        # The append and what follows it commit together (in a savepoint of the caller's transaction).
        async with _connection(store.pool, connection) as conn, conn.transaction():
            result = await store.append(
                stream_id, current.version, new, metadata=metadata, idempotency_key=idempotency_key, connection=conn
            )
            if result.event_ids[0] == new[0].event_id:
                assert state is not None, f"{stream_id}: events that fold into no state"
                await kind.follow(conn, state)
        if connection is None:
            store.appended.send()  # committed now
    if result.event_ids[0] != new[0].event_id:
        # A request with the same key committed while this one decided: nothing of ours was written.
        raise _AnsweredEarlier(result)
    return CommandResult(state, result.stream_version, tuple(events))


async def _replayed(
    store: EventStore, kind: StreamKind[S], key: object, stream_id: str, earlier: AppendResult
) -> CommandResult[S]:
    """What the earlier request with the same key produced, if it was for this stream."""
    if earlier.stream_id != stream_id:
        raise DomainError("this Idempotency-Key was used for another request", field="Idempotency-Key")
    return await kind.load(store, key, up_to=earlier.stream_version)
