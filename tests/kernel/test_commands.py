"""Commands through `execute`: idempotent replay, retries after a concurrent writer, the follow
hook and the unit in the append's transaction, keys reused for another stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest
from kernel.events_for_tests import CounterIncremented
from tandem_kernel.commands import ATTEMPTS, StreamKind, execute, scoped
from tandem_kernel.errors import ConcurrencyError, DomainError, InvalidTransition
from tandem_kernel.events import DomainEvent, EventEnvelope, EventMetadata, NewEvent
from tandem_kernel.store import EventStore

METADATA = EventMetadata(actor="test")


def replay_counter(events: Iterable[DomainEvent], total: int | None) -> int | None:
    for event in events:
        total = (total or 0) + event.by if isinstance(event, CounterIncremented) else 0
    return total


COUNTERS: StreamKind[int] = StreamKind("counter", replay_counter)


def increment(by: int) -> CounterIncremented:
    return CounterIncremented(by=by, reason="test")


def start_once(total: int | None) -> list[DomainEvent]:
    """A decision that refuses when repeated, as enrolling twice does."""
    if total is not None:
        raise InvalidTransition("already started")
    return [increment(1)]


async def totals(store: EventStore) -> dict[str, int]:
    return {row["counter"]: row["total"] for row in await store.pool.fetch("SELECT counter, total FROM totals")}


@pytest.fixture
async def with_totals(store: EventStore) -> EventStore:
    await store.pool.execute("CREATE TABLE totals (counter text PRIMARY KEY, total int NOT NULL)")
    return store


async def save_total(connection: asyncpg.Connection, total: int) -> None:
    await connection.execute(
        "INSERT INTO totals (counter, total) VALUES ('c', $1) ON CONFLICT (counter) DO UPDATE SET total = $1", total
    )


async def test_a_command_appends_what_it_decides_and_answers_with_the_new_state(store: EventStore) -> None:
    at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    await execute(store, COUNTERS, "a", lambda _: [increment(2)], metadata=METADATA)

    outcome = await execute(store, COUNTERS, "a", lambda _: [increment(3)], metadata=METADATA, occurred_at=at)

    assert (outcome.state, outcome.version, outcome.events) == (5, 2, (increment(3),))
    assert (await store.read_stream("counter-a"))[-1].occurred_at == at


async def test_a_command_that_decides_nothing_answers_with_the_stream_as_it_is(store: EventStore) -> None:
    await execute(store, COUNTERS, "a", lambda _: [increment(2)], metadata=METADATA)

    outcome = await execute(store, COUNTERS, "a", lambda _: [], metadata=METADATA)

    assert (outcome.state, outcome.version, outcome.events) == (2, 1, ())


async def test_a_used_idempotency_key_answers_as_the_first_request_did_without_deciding_again(
    store: EventStore,
) -> None:
    key = scoped("start", "client-key-1")
    first = await execute(store, COUNTERS, "a", start_once, metadata=METADATA, idempotency_key=key)
    await execute(store, COUNTERS, "a", lambda _: [increment(10)], metadata=METADATA)  # the stream moves on

    again = await execute(store, COUNTERS, "a", start_once, metadata=METADATA, idempotency_key=key)

    assert (again.state, again.version) == (first.state, first.version) == (1, 1)
    assert again.events == ()
    assert len(await store.read_stream("counter-a")) == 2
    with pytest.raises(InvalidTransition):  # the same client key for another operation is another request
        await execute(
            store, COUNTERS, "a", start_once, metadata=METADATA, idempotency_key=scoped("other", "client-key-1")
        )


async def test_a_key_used_for_another_stream_is_refused_on_the_idempotency_key_field(store: EventStore) -> None:
    key = scoped("start", "client-key-1")
    await execute(store, COUNTERS, "a", start_once, metadata=METADATA, idempotency_key=key)

    with pytest.raises(DomainError) as refused:
        await execute(store, COUNTERS, "b", start_once, metadata=METADATA, idempotency_key=key)

    assert (refused.value.status, refused.value.field) == (422, "Idempotency-Key")
    assert await store.read_stream("counter-b") == []


async def test_after_a_concurrent_writer_the_command_reloads_and_decides_again(store: EventStore) -> None:
    seen: list[int | None] = []

    def decide(total: int | None) -> list[DomainEvent]:
        seen.append(total)
        return [increment(1)]

    await execute(store, COUNTERS, "a", lambda _: [increment(5)], metadata=METADATA)
    writes = iter([increment(100)])

    @asynccontextmanager
    async def a_writer_gets_in_first() -> AsyncIterator[_NoUnit]:
        # Between this attempt's load and its append, another writer appends (once).
        if (event := next(writes, None)) is not None:
            await store.append("counter-a", 1, [NewEvent(event)])
        yield _NoUnit()

    outcome = await execute(store, COUNTERS, "a", decide, metadata=METADATA, unit=a_writer_gets_in_first)

    assert seen == [5, 105]
    assert (outcome.state, outcome.version) == (106, 3)


async def test_in_a_callers_transaction_a_lost_race_is_retried_without_undoing_the_callers_work(
    with_totals: EventStore,
) -> None:
    store = with_totals
    await execute(store, COUNTERS, "a", lambda _: [increment(5)], metadata=METADATA)
    read_stream, writes = store.read_stream, iter([increment(100)])

    async def read_then_another_writer_appends(stream_id: str, *, after_version: int = 0) -> list[EventEnvelope]:
        envelopes = await read_stream(stream_id, after_version=after_version)
        if (event := next(writes, None)) is not None:
            await store.append(stream_id, len(envelopes), [NewEvent(event)])
        return envelopes

    store.read_stream = read_then_another_writer_appends  # type: ignore[method-assign]
    async with store.pool.acquire() as connection, connection.transaction():
        await save_total(connection, -1)  # the caller's own work, before the command
        outcome = await execute(
            store, COUNTERS, "a", lambda total: [increment(1)], metadata=METADATA, connection=connection
        )

    assert (outcome.state, outcome.version) == (106, 3)
    assert await totals(store) == {"c": -1}


async def test_a_command_losing_every_race_raises_concurrency_error_after_bounded_attempts(store: EventStore) -> None:
    attempts = 0

    @asynccontextmanager
    async def always_beaten() -> AsyncIterator[_NoUnit]:
        nonlocal attempts
        attempts += 1
        await store.append("counter-a", await store.stream_version("counter-a"), [NewEvent(increment(1))])
        yield _NoUnit()

    with pytest.raises(ConcurrencyError):
        await execute(store, COUNTERS, "a", lambda _: [increment(1)], metadata=METADATA, unit=always_beaten)

    assert attempts == ATTEMPTS


async def test_the_follow_hook_commits_with_the_append_and_fails_it(with_totals: EventStore) -> None:
    store = with_totals
    followed: StreamKind[int] = StreamKind("counter", replay_counter, follow=save_total)
    await execute(store, followed, "c", lambda _: [increment(4)], metadata=METADATA)
    assert await totals(store) == {"c": 4}

    async def broken(connection: asyncpg.Connection, total: int) -> None:
        await save_total(connection, total)
        raise RuntimeError("the ledger is broken")

    with pytest.raises(RuntimeError):
        await execute(
            store,
            StreamKind("counter", replay_counter, follow=broken),
            "c",
            lambda _: [increment(1)],
            metadata=METADATA,
        )

    assert await totals(store) == {"c": 4}
    assert len(await store.read_stream("counter-c")) == 1


async def test_with_a_caller_connection_the_append_and_its_follow_join_the_callers_transaction(
    with_totals: EventStore,
) -> None:
    store = with_totals
    followed: StreamKind[int] = StreamKind("counter", replay_counter, follow=save_total)

    class CallerGaveUp(Exception):
        pass

    with pytest.raises(CallerGaveUp):
        async with store.pool.acquire() as connection, connection.transaction():
            await execute(store, followed, "c", lambda _: [increment(4)], metadata=METADATA, connection=connection)
            assert await connection.fetchval("SELECT total FROM totals") == 4
            raise CallerGaveUp

    assert await totals(store) == {}
    assert await store.read_stream("counter-c") == []


class Totals:
    """A unit that locks the totals table and records what each command appended, in its transaction."""

    def __init__(self, store: EventStore, *, fail: bool = False) -> None:
        self.store = store
        self.fail = fail
        self.connection: asyncpg.Connection | None = None

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[Totals]:
        async with self.store.pool.acquire() as connection, connection.transaction():
            await connection.execute("LOCK TABLE totals")
            self.connection = connection
            yield self

    async def appended(self, events: Sequence[DomainEvent]) -> None:
        assert self.connection is not None
        await save_total(self.connection, sum(e.by for e in events if isinstance(e, CounterIncremented)))
        if self.fail:
            raise RuntimeError("the unit failed after the append")


async def test_a_unit_holds_its_transaction_around_decide_append_and_what_changes_with_them(
    with_totals: EventStore,
) -> None:
    store = with_totals
    unit = Totals(store)

    def decide(total: int | None) -> list[DomainEvent]:
        assert unit.connection is not None  # entered after the stream was loaded, before deciding
        return [increment(2)]

    outcome = await execute(store, COUNTERS, "c", decide, metadata=METADATA, unit=unit.hold)

    assert (outcome.state, await totals(store)) == (2, {"c": 2})
    with pytest.raises(RuntimeError):
        await execute(
            store, COUNTERS, "c", lambda _: [increment(5)], metadata=METADATA, unit=Totals(store, fail=True).hold
        )
    assert (await COUNTERS.load(store, "c")).state == 2
    assert await totals(store) == {"c": 2}


class _NoUnit:
    """A unit that adds nothing: the append runs in the store's own transaction."""

    connection = None

    async def appended(self, events: Sequence[DomainEvent]) -> None:
        pass


def test_stream_kinds_spell_and_read_back_their_ids() -> None:
    assert COUNTERS.stream_id(7) == "counter-7"
    assert COUNTERS.key_of("counter-7") == "7"
    assert COUNTERS.key_of("program-7") is None
    assert scoped("enroll", None) is None
