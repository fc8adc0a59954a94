"""Commands through `execute` and `create`: one unit of work from load to commit, idempotent replay
(waiting for a request in flight, refusing another request under the same key), retries after a
concurrent writer, the follow hook and `around` in the append's transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import pytest
from kernel.events_for_tests import CounterIncremented
from tandem_kernel.clock import SettableClock
from tandem_kernel.commands import (
    ATTEMPTS,
    Idempotency,
    IdempotencyReused,
    LatestStates,
    StreamKind,
    create,
    execute,
)
from tandem_kernel.database import create_pool
from tandem_kernel.errors import ConcurrencyError, InvalidTransition
from tandem_kernel.events import DomainEvent, EventEnvelope, EventMetadata, NewEvent
from tandem_kernel.store import EventStore, UnitOfWork

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


def key(name: str, request: object = "the same request") -> Idempotency:
    idempotency = Idempotency.of("POST /counters", name, request)
    assert idempotency is not None
    return idempotency


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

    outcome = await execute(store, COUNTERS, "a", lambda total: [increment(3)], metadata=METADATA, occurred_at=at)

    assert (outcome.state, outcome.version, outcome.events, outcome.stream_id) == (5, 2, (increment(3),), "counter-a")
    [_, second] = await store.read_stream("counter-a")
    assert second.occurred_at == at and second.actor == "test"


async def test_without_a_time_given_events_occur_at_the_stores_clock_not_the_wall_clock(store: EventStore) -> None:
    # `make run` plays weeks in minutes on one simulated clock: what a service's events say about
    # when they happened must be that clock's time (evaluation dates a program's close by it).
    store.clock = SettableClock(datetime(2031, 5, 4, 12, 0, tzinfo=UTC))

    await execute(store, COUNTERS, "plain", lambda _: [increment(1)], metadata=METADATA)
    async with store.transaction() as unit:
        await execute(
            store, COUNTERS, "in-a-unit", lambda _: [increment(1)], metadata=METADATA, connection=unit.connection
        )
    await create(store, COUNTERS, lambda _: [increment(1)], metadata=METADATA)

    stamped = {event.occurred_at.date() for event in await store.read_all()}
    assert stamped == {datetime(2031, 5, 4).date()}


async def test_a_command_that_decides_nothing_answers_with_the_stream_as_it_is(store: EventStore) -> None:
    await execute(store, COUNTERS, "a", lambda _: [increment(2)], metadata=METADATA)

    outcome = await execute(store, COUNTERS, "a", lambda _: [], metadata=METADATA)

    assert (outcome.state, outcome.version, outcome.events) == (2, 1, ())


async def test_a_retry_with_the_same_key_and_request_gets_the_first_answer_without_deciding_again(
    store: EventStore,
) -> None:
    first = await execute(store, COUNTERS, "a", start_once, metadata=METADATA, idempotency=key("k1"))
    await execute(store, COUNTERS, "a", lambda _: [increment(10)], metadata=METADATA)

    retry = await execute(store, COUNTERS, "a", start_once, metadata=METADATA, idempotency=key("k1"))

    assert (retry.state, retry.version) == (first.state, first.version) == (1, 1)
    assert len(await store.read_stream("counter-a")) == 2


async def test_the_same_key_with_another_request_is_refused_on_the_idempotency_key_field(store: EventStore) -> None:
    await execute(store, COUNTERS, "a", start_once, metadata=METADATA, idempotency=key("k1", {"role": "junior"}))

    for other in (
        dict(stream="a", request={"role": "senior"}),  # the same stream, another body
        dict(stream="b", request={"role": "junior"}),  # another stream (another URL)
    ):
        with pytest.raises(IdempotencyReused) as refused:
            await execute(
                store,
                COUNTERS,
                other["stream"],
                start_once,
                metadata=METADATA,
                idempotency=key("k1", {**other["request"], "stream": other["stream"]}),  # type: ignore[dict-item]
            )
        assert refused.value.field == "Idempotency-Key" and refused.value.status == 422
    assert await store.read_stream("counter-b") == []


async def test_concurrent_requests_with_one_key_wait_for_the_first_and_all_get_its_answer(store: EventStore) -> None:
    """Retries that overlap the original (a client timing out and retrying, across replicas)."""
    outcomes = await asyncio.gather(
        *(execute(store, COUNTERS, "a", start_once, metadata=METADATA, idempotency=key("k1")) for _ in range(8)),
        return_exceptions=True,
    )

    assert [(o.state, o.version) for o in outcomes if not isinstance(o, BaseException)] == [(1, 1)] * 8
    assert len(await store.read_stream("counter-a")) == 1


async def test_a_new_stream_is_created_under_a_new_key_and_a_concurrent_retry_finds_it(store: EventStore) -> None:
    def begin(counter_id: UUID) -> list[DomainEvent]:
        return [increment(7)]

    created = await asyncio.gather(
        *(create(store, COUNTERS, begin, metadata=METADATA, idempotency=key("new-1")) for _ in range(6))
    )
    other = await create(store, COUNTERS, begin, metadata=METADATA)

    assert len({outcome.stream_id for outcome in created}) == 1
    assert created[0].stream_id != other.stream_id
    assert await store.pool.fetchval("SELECT count(DISTINCT stream_id) FROM events") == 2


async def test_after_a_concurrent_writer_the_command_reloads_and_decides_again(store: EventStore) -> None:
    await execute(store, COUNTERS, "a", lambda _: [increment(5)], metadata=METADATA)
    seen: list[int | None] = []

    class AnotherWriterGetsInFirst:
        async def before(self, unit: UnitOfWork) -> None:
            if not seen:  # the first attempt only: a writer on another connection appends meanwhile
                await store.append("counter-a", 1, [NewEvent(increment(100))])

        async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
            pass

    def decide(total: int | None) -> list[DomainEvent]:
        seen.append(total)
        return [increment(1)]

    outcome = await execute(store, COUNTERS, "a", decide, metadata=METADATA, around=AnotherWriterGetsInFirst())

    assert seen == [5, 105]
    assert (outcome.state, outcome.version) == (106, 3)


async def test_in_a_callers_transaction_a_lost_race_is_retried_without_undoing_the_callers_work(
    with_totals: EventStore,
) -> None:
    store = with_totals
    await execute(store, COUNTERS, "a", lambda _: [increment(5)], metadata=METADATA)
    read_stream, writes = store.read_stream, iter([increment(100)])

    async def read_then_another_writer_appends(
        stream_id: str, *, after_version: int = 0, connection: asyncpg.Connection | None = None
    ) -> list[EventEnvelope]:
        envelopes = await read_stream(stream_id, after_version=after_version, connection=connection)
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

    class AlwaysBeaten:
        async def before(self, unit: UnitOfWork) -> None:
            nonlocal attempts
            attempts += 1
            await store.append("counter-a", await store.stream_version("counter-a"), [NewEvent(increment(1))])

        async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
            pass

    with pytest.raises(ConcurrencyError):
        await execute(store, COUNTERS, "a", lambda _: [increment(1)], metadata=METADATA, around=AlwaysBeaten())

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


class LockedTotals:
    """What changes with a counter: locks the totals table, records what each command appended."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.connection: asyncpg.Connection | None = None

    async def before(self, unit: UnitOfWork) -> None:
        await unit.connection.execute("LOCK TABLE totals")
        self.connection = unit.connection

    async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        await save_total(unit.connection, sum(e.by for e in events if isinstance(e, CounterIncremented)))
        if self.fail:
            raise RuntimeError("what changes with the stream failed after the append")


async def test_around_runs_on_the_commands_one_connection_and_commits_or_fails_with_the_append(
    with_totals: EventStore,
) -> None:
    store = with_totals
    around = LockedTotals()
    connections: list[asyncpg.Connection] = []

    async def read_on(stream_id: str, *, after_version: int = 0, connection: asyncpg.Connection | None = None):  # type: ignore[no-untyped-def]
        assert connection is not None, "the load goes through the unit's connection, not the pool"
        connections.append(connection)
        return await EventStore.read_stream(store, stream_id, after_version=after_version, connection=connection)

    store.read_stream = read_on  # type: ignore[method-assign]

    def decide(total: int | None) -> list[DomainEvent]:
        assert around.connection is connections[0]  # before() ran on the same connection, then decide
        return [increment(2)]

    outcome = await execute(store, COUNTERS, "c", decide, metadata=METADATA, around=around)
    del store.read_stream  # type: ignore[method-assign]

    assert (outcome.state, await totals(store)) == (2, {"c": 2})
    with pytest.raises(RuntimeError):
        await execute(store, COUNTERS, "c", lambda _: [increment(5)], metadata=METADATA, around=LockedTotals(fail=True))
    assert (await COUNTERS.load(store, "c")).state == 2
    assert await totals(store) == {"c": 2}


async def test_a_unit_of_work_wakes_the_stores_followers_once_it_committed(store: EventStore) -> None:
    woken: list[int] = []
    store.appended.send = lambda: woken.append(len(woken))  # type: ignore[method-assign]

    async with store.transaction() as unit:
        await unit.append("counter-x", 0, [NewEvent(increment(1))])
        assert woken == []  # not before the commit
    async with store.transaction() as unit:
        await unit.read_stream("counter-x")  # nothing appended: nothing to wake anyone for

    assert woken == [0]


def test_stream_kinds_spell_and_read_back_their_ids() -> None:
    assert COUNTERS.stream_id(7) == "counter-7"
    assert COUNTERS.key_of("counter-7") == "7"
    assert COUNTERS.key_of("program-7") is None
    assert Idempotency.of("enroll", None, {}) is None
    assert key("k", {"a": 1, "b": 2}) == key("k", {"b": 2, "a": 1})


async def test_a_command_joining_a_callers_transaction_needs_no_second_connection(
    store: EventStore, database_url: str
) -> None:
    """A caller holding the pool's last connection (and its locks) must not wait for another one:
    that is how commands holding locks deadlocked with their neighbours waiting for those locks."""
    single = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        lonely = EventStore(single, schema=store.schema, registry=store.registry)
        async with single.acquire() as connection, connection.transaction():
            await connection.execute(f"SET LOCAL search_path = {store.schema}")
            async with asyncio.timeout(5):
                outcome = await execute(
                    lonely, COUNTERS, "a", lambda _: [increment(1)], metadata=METADATA, connection=connection
                )
        assert outcome.version == 1
    finally:
        await single.close()


# -- latest states -----------------------------------------------------------------------------


class CountingReads:
    """A store's reads, counted with the versions asked from (what `LatestStates` reads)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.reads: list[tuple[str, int, int]] = []  # stream, after version, events read
        original = store.read_stream

        async def read_stream(stream_id: str, *, after_version: int = 0, **options: object) -> list[EventEnvelope]:
            envelopes = await original(stream_id, after_version=after_version, **options)  # type: ignore[arg-type]
            self.reads.append((stream_id, after_version, len(envelopes)))
            return envelopes

        store.read_stream = read_stream  # type: ignore[method-assign]


async def test_latest_states_read_only_what_is_new_and_fold_it_as_a_full_read_would(store: EventStore) -> None:
    latest = LatestStates(COUNTERS)
    await execute(store, COUNTERS, "a", lambda _: [increment(2)], metadata=METADATA)
    await execute(store, COUNTERS, "a", lambda _: [increment(3)], metadata=METADATA)
    counted = CountingReads(store)

    first = await latest.load(store, "a")
    again = await latest.load(store, "a")
    await store.append("counter-a", 2, [NewEvent(increment(4))], metadata=METADATA)
    caught_up = await latest.load(store, "a")

    assert (first.state, first.version, again.state, again.version) == (5, 2, 5, 2)
    assert (caught_up.state, caught_up.version) == (9, 3)
    full = await COUNTERS.load(store, "a")
    assert (caught_up.state, caught_up.version, caught_up.stream_id) == (full.state, full.version, full.stream_id)
    assert counted.reads[:3] == [("counter-a", 0, 2), ("counter-a", 2, 0), ("counter-a", 2, 1)]


async def test_latest_states_see_what_another_replica_appended_between_two_loads(
    store: EventStore, database_url: str
) -> None:
    # Another replica: its own pool and store on the same database, appending through its own path.
    other_pool = await create_pool(database_url, "kernel_test", min_size=1, max_size=2)
    try:
        other = EventStore(other_pool, schema="kernel_test", registry=store.registry)
        latest = LatestStates(COUNTERS)
        await execute(store, COUNTERS, "shared", lambda _: [increment(1)], metadata=METADATA)
        assert (await latest.load(store, "shared")).state == 1

        await execute(other, COUNTERS, "shared", lambda _: [increment(10)], metadata=METADATA)

        seen = await latest.load(store, "shared")
        assert (seen.state, seen.version) == (11, 2)
    finally:
        await other_pool.close()


async def test_latest_states_keep_no_stream_without_events_and_only_the_most_recent_streams(
    store: EventStore,
) -> None:
    latest = LatestStates(COUNTERS, size=2)
    for name in ("a", "b", "c"):
        await execute(store, COUNTERS, name, lambda _: [increment(1)], metadata=METADATA)
    counted = CountingReads(store)

    nothing = await latest.load(store, "nobody")
    for name in ("a", "b", "c", "a"):
        await latest.load(store, name)

    assert (nothing.state, nothing.version) == (None, 0)
    # "a" was pushed out by "c" (two kept): read from the start again; nobody's empty stream was never kept.
    assert [(stream, after) for stream, after, _ in counted.reads] == [
        ("counter-nobody", 0),
        ("counter-a", 0),
        ("counter-b", 0),
        ("counter-c", 0),
        ("counter-a", 0),
    ]
    await latest.load(store, "nobody")
    assert counted.reads[-1] == ("counter-nobody", 0, 0)
