"""How every command runs: load the stream, decide, append at the version loaded, and change the
write-side tables that follow the stream in the same transaction.

    pair = await execute(store, PAIRS, pair_id, lambda state: decide_accept(state, ...), now=now, metadata=metadata)

- An `Idempotency-Key` already used returns the state the first request produced, without deciding
  again (deciding again could refuse: nobody declines twice). Keys are scoped by operation.
- `ConcurrencyError` (another writer appended first) reloads and decides again, a few times.
- With a `connection`, everything joins its transaction (a consumer's handler, a round's write),
  inside a savepoint so that a lost race is retried without undoing the caller's work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import asyncpg
from tandem_kernel.errors import ConcurrencyError, DomainError
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.store import EventStore

from tandem_pairing.adapters import ledger
from tandem_pairing.adapters.idempotency import recorded_append
from tandem_pairing.domain.pair import Pair, replay_pair
from tandem_pairing.domain.pairing_round import PairingRound, replay_round
from tandem_pairing.domain.program_rules import ProgramRules, replay_rules

__all__ = ["PAIRS", "ROUNDS", "SETTINGS", "Loaded", "StreamKind", "execute", "scoped"]

S = TypeVar("S")
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Loaded(Generic[S]):
    """A stream's state and version, and the events the command appended (if any)."""

    state: S | None
    version: int
    events: tuple[DomainEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamKind(Generic[S]):
    """A kind of stream: how its ids are spelled, how its events fold into state, and what follows it
    in the same transaction (`follow(connection, state)`, e.g. the pairs ledger)."""

    prefix: str
    replay: Callable[[Iterable[DomainEvent], S | None], S | None]
    follow: Callable[[asyncpg.Connection, S], Awaitable[None]] | None = None

    def stream_id(self, key: object) -> str:
        return f"{self.prefix}-{key}"

    async def load(self, store: EventStore, key: object, *, up_to: int | None = None) -> Loaded[S]:
        """The stream's state and version (only its first `up_to` events, if given)."""
        envelopes = await store.read_stream(self.stream_id(key))
        if up_to is not None:
            envelopes = envelopes[:up_to]
        return Loaded(self.replay((e.payload for e in envelopes), None), len(envelopes))


async def _follow_pair(connection: asyncpg.Connection, pair: Pair) -> None:
    await ledger.save(connection, [pair])


PAIRS: StreamKind[Pair] = StreamKind("pair", replay_pair, _follow_pair)
"""`pair-<pair id>`: a proposal and the pair it becomes; the ledger follows it."""

ROUNDS: StreamKind[PairingRound] = StreamKind("round", replay_round)
"""`round-<round id>`"""

SETTINGS: StreamKind[ProgramRules] = StreamKind("pairing-settings", replay_rules)
"""`pairing-settings-<program id>`: settings, pins and forbidden pairs."""


def scoped(operation: str, idempotency_key: str | None) -> str | None:
    """The key under which `operation` records a client's `Idempotency-Key`."""
    return None if idempotency_key is None else f"{operation}:{idempotency_key}"


async def execute(
    store: EventStore,
    kind: StreamKind[S],
    key: object,
    decide: Callable[[S | None], Sequence[DomainEvent]],
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency_key: str | None = None,
    connection: asyncpg.Connection | None = None,
) -> Loaded[S]:
    """Decide on the stream's current state and append; raises what `decide` raises."""
    stream_id = kind.stream_id(key)
    if idempotency_key is not None:
        earlier = await recorded_append(store.pool, idempotency_key)
        if earlier is not None:
            if earlier.stream_id != stream_id:
                raise DomainError("this Idempotency-Key was used for another request", field="Idempotency-Key")
            return await kind.load(store, key, up_to=earlier.stream_version)
    for attempt in range(1, ATTEMPTS + 1):
        current = await kind.load(store, key)
        events = list(decide(current.state))
        if not events:
            return current
        try:
            return await _append(store, kind, key, current, events, now, metadata, idempotency_key, connection)
        except ConcurrencyError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def _append(
    store: EventStore,
    kind: StreamKind[S],
    key: object,
    current: Loaded[S],
    events: list[DomainEvent],
    now: datetime,
    metadata: EventMetadata,
    idempotency_key: str | None,
    connection: asyncpg.Connection | None,
) -> Loaded[S]:
    new = [NewEvent(event, occurred_at=now) for event in events]
    state = kind.replay(events, current.state)
    assert state is not None
    if connection is None and kind.follow is None:
        result = await store.append(
            kind.stream_id(key), current.version, new, metadata=metadata, idempotency_key=idempotency_key
        )
    else:
        async with _borrowed(store, connection) as conn, conn.transaction():
            result = await store.append(
                kind.stream_id(key),
                current.version,
                new,
                metadata=metadata,
                idempotency_key=idempotency_key,
                connection=conn,
            )
            if result.event_ids[0] == new[0].event_id and kind.follow is not None:
                await kind.follow(conn, state)
        if connection is None:
            store.appended.send()  # committed now
    if result.event_ids[0] != new[0].event_id:
        # A request with the same key committed while this one decided: answer as it did.
        return await kind.load(store, key, up_to=result.stream_version)
    return Loaded(state, result.stream_version, tuple(events))


@asynccontextmanager
async def _borrowed(store: EventStore, connection: asyncpg.Connection | None) -> AsyncIterator[asyncpg.Connection]:
    """The given connection, or one acquired from the store's pool for the block."""
    if connection is not None:
        yield connection
        return
    async with store.pool.acquire() as acquired:
        yield acquired
