"""How every command runs: load the stream, decide, append at the version loaded.

    outcome = await run(store, PROGRAMS, stream_id, decide, metadata=metadata, idempotency_key=key)

- An `Idempotency-Key` already used for this stream returns the state that first request produced,
  without deciding again (deciding again could refuse: nobody enrolls twice). Keys are scoped by
  operation (`scoped`): a client reusing one key for "enroll" and "withdraw" gets both done.
- A `ConcurrencyError` means another writer appended first; `retry_once` runs the whole attempt
  again, which reloads and decides on the new state.
- A `unit` is what the append runs inside, when more than the stream must change with it (a
  transaction holding a lock, say). It is entered after the stream is loaded, so that nothing
  reads through the pool while holding a lock: holders waiting for a pool connection that waiters
  on their lock occupy would deadlock. A stream that changed meanwhile fails the append.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import asyncpg
from tandem_kernel.errors import ConcurrencyError, DomainError
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.store import AppendResult, EventStore

from tandem_enrollment.adapters.idempotency import recorded_append

__all__ = ["Outcome", "StreamKind", "Unit", "retry_once", "run", "scoped"]

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome(Generic[S]):
    """A stream after a command: its state, its version, and the events this command appended."""

    state: S | None
    version: int
    events: tuple[DomainEvent, ...]


@dataclass(frozen=True, slots=True)
class StreamKind(Generic[S]):
    """A kind of stream: how its ids are spelled and how its events fold into state."""

    prefix: str
    replay: Callable[[Iterable[DomainEvent], S | None], S | None]

    def stream_id(self, key: object) -> str:
        return f"{self.prefix}-{key}"

    async def load(self, store: EventStore, stream_id: str, *, up_to: int | None = None) -> Outcome[S]:
        """The stream's state and version (only its first `up_to` events, if given)."""
        envelopes = await store.read_stream(stream_id)
        if up_to is not None:
            envelopes = envelopes[:up_to]
        return Outcome(self.replay((envelope.payload for envelope in envelopes), None), len(envelopes), ())


class Unit(Protocol):
    """Where an append happens: in `connection`'s transaction (`None`: the store's own), followed
    by `appended`, which changes whatever else must change with it, in the same transaction."""

    @property
    def connection(self) -> asyncpg.Connection | None: ...

    async def appended(self, events: Sequence[DomainEvent]) -> None: ...


class _StoreTransaction:
    connection = None

    async def appended(self, events: Sequence[DomainEvent]) -> None:
        pass


@asynccontextmanager
async def _alone() -> AsyncIterator[Unit]:
    yield _StoreTransaction()


class _AnsweredEarlier(Exception):
    """Raised inside a unit to leave it: an earlier request with the same key did the work."""

    def __init__(self, result: AppendResult) -> None:
        self.result = result


def scoped(operation: str, idempotency_key: str | None) -> str | None:
    """The key under which `operation` records a client's `Idempotency-Key`."""
    return None if idempotency_key is None else f"{operation}:{idempotency_key}"


async def run(
    store: EventStore,
    kind: StreamKind[S],
    stream_id: str,
    decide: Callable[[S | None], Sequence[DomainEvent]],
    *,
    metadata: EventMetadata,
    idempotency_key: str | None = None,
    unit: Callable[[], AbstractAsyncContextManager[Unit]] = _alone,
) -> Outcome[S]:
    """Decide on the stream's current state and append the events at the version it was loaded at.

    Raises what `decide` raises, and `ConcurrencyError` if another writer got in first.
    """
    if idempotency_key is not None:
        earlier = await recorded_append(store.pool, idempotency_key)
        if earlier is not None:
            return await _replayed(store, kind, stream_id, earlier)
    current = await kind.load(store, stream_id)
    try:
        async with unit() as work:
            events = list(decide(current.state))
            if events:
                new = [NewEvent(event) for event in events]
                result = await store.append(
                    stream_id,
                    current.version,
                    new,
                    metadata=metadata,
                    idempotency_key=idempotency_key,
                    connection=work.connection,
                )
                if result.event_ids[0] != new[0].event_id:
                    # A request with the same key committed while this one decided: leave the unit
                    # (nothing of ours was written) and answer as that request did.
                    raise _AnsweredEarlier(result)
            await work.appended(events)
    except _AnsweredEarlier as answered:
        return await _replayed(store, kind, stream_id, answered.result)
    if not events:
        return current
    return Outcome(kind.replay(events, current.state), result.stream_version, tuple(events))


async def _replayed(store: EventStore, kind: StreamKind[S], stream_id: str, earlier: AppendResult) -> Outcome[S]:
    if earlier.stream_id != stream_id:
        raise DomainError("this Idempotency-Key was used for another request", field="Idempotency-Key")
    return await kind.load(store, stream_id, up_to=earlier.stream_version)


async def retry_once(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run `attempt`; if another writer appended first, run it once more on the fresh state."""
    try:
        return await attempt()
    except ConcurrencyError:
        return await attempt()
