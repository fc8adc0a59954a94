"""The event store: optimistic concurrency, idempotent appends, gap-safe tailing."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import asyncpg
import pytest
from kernel.events_for_tests import CounterIncremented, CounterReset
from tandem_kernel.errors import ConcurrencyError, UnknownEventType
from tandem_kernel.events import EventEnvelope, EventMetadata, NewEvent
from tandem_kernel.store import Cursor, EventStore, StoredEvents
from tandem_kernel.testing import ADMIN_DSN


def incremented(by: int = 1) -> NewEvent:
    return NewEvent(CounterIncremented(by=by, reason="test"))


async def read_until(store: EventStore, cursor: Cursor, count: int, *, limit: int = 100) -> list[EventEnvelope]:
    """Page through read_all until `count` events arrived (or 10 s passed). read_all stays below
    the oldest writing transaction of the database, so a reader may briefly trail the writers."""
    seen: list[EventEnvelope] = []
    async with asyncio.timeout(10):
        while len(seen) < count:
            page = await store.read_all(cursor, limit=limit)
            seen.extend(page)
            if page:
                cursor = Cursor(page[-1].transaction_id, page[-1].position)
            else:
                await asyncio.sleep(0.01)
    return seen + await store.read_all(cursor)  # nothing more may come: a duplicate would show here


async def test_appended_events_read_back_in_version_order_with_their_envelope(store: EventStore) -> None:
    correlation = uuid4()
    result = await store.append(
        "counter-1",
        0,
        [incremented(1), incremented(2)],
        metadata=EventMetadata(correlation_id=correlation, actor="hr:ana"),
    )

    history = await store.read_stream("counter-1")

    assert result.stream_version == 2
    assert [e.stream_version for e in history] == [1, 2]
    assert [e.payload for e in history] == [
        CounterIncremented(by=1, reason="test"),
        CounterIncremented(by=2, reason="test"),
    ]
    assert [e.position for e in history] == list(result.positions)
    assert all(e.correlation_id == correlation and e.actor == "hr:ana" for e in history)


async def test_an_append_at_a_stale_version_is_refused_and_overwrites_nothing(store: EventStore) -> None:
    await store.append("counter-1", 0, [incremented()])

    with pytest.raises(ConcurrencyError) as refused:
        await store.append("counter-1", 0, [NewEvent(CounterReset())])

    assert refused.value.actual_version == 1
    assert [e.payload.event_type for e in await store.read_stream("counter-1")] == ["test.CounterIncremented"]


async def test_an_append_ahead_of_the_stream_is_refused(store: EventStore) -> None:
    with pytest.raises(ConcurrencyError):
        await store.append("counter-1", 3, [incremented()])


async def test_concurrent_writers_on_one_stream_exactly_one_wins(store: EventStore) -> None:
    outcomes = await asyncio.gather(
        *(store.append("contested", 0, [incremented(n)]) for n in range(10)), return_exceptions=True
    )

    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, ConcurrencyError) for o in outcomes if o not in winners)
    assert len(await store.read_stream("contested")) == 1


async def test_read_all_pages_through_every_stream_in_commit_order(store: EventStore) -> None:
    for n in range(25):
        await store.append(f"counter-{n % 3}", n // 3, [incremented(n)])

    seen = await read_until(store, Cursor.origin(), 25, limit=7)

    assert [e.payload.by for e in seen] == list(range(25))


async def test_a_tailing_reader_never_skips_an_event_that_commits_after_a_later_one(store: EventStore) -> None:
    """The sequence-gap problem: position 1 is taken by a transaction that commits last."""
    slow = await store.pool.acquire()
    try:
        transaction = slow.transaction()
        await transaction.start()
        slow_result = await store.append("slow", 0, [incremented(1)], connection=slow)
        fast_result = await store.append("fast", 0, [incremented(2)])
        assert slow_result.positions[0] < fast_result.positions[0]

        # The reader polls while the slow transaction is open: it must not step past it.
        while_open = await store.read_all(Cursor.origin())
        cursor = Cursor(while_open[-1].transaction_id, while_open[-1].position) if while_open else Cursor.origin()
        await transaction.commit()
    finally:
        await store.pool.release(slow)

    after_commit = await read_until(store, cursor, 2)
    seen = [e.stream_id for e in [*while_open, *after_commit]]
    assert while_open == []
    assert sorted(seen) == ["fast", "slow"]
    assert len(seen) == 2


async def test_a_writer_open_in_another_database_of_the_server_holds_no_reader_back(store: EventStore) -> None:
    """Only this database's transactions can still add rows below the cursor; another database's
    (a bulk import of another service sharing the server, a paused test) cannot."""
    elsewhere = await asyncpg.connect(ADMIN_DSN)  # the server's `postgres` database
    try:
        async with elsewhere.transaction():
            await elsewhere.fetchval("SELECT pg_current_xact_id()")  # a writer: it holds a transaction id
            await store.append("while-elsewhere-writes", 0, [incremented(1)])

            seen = await read_until(store, Cursor.origin(), 1)

            # The same writer in this database does hold readers back (the sequence-gap rule).
            here = await store.pool.acquire()
            try:
                async with here.transaction():
                    await here.fetchval("SELECT pg_current_xact_id()")
                    await store.append("while-here-writes", 0, [incremented(2)])
                    held_back = await store.read_all(Cursor(seen[-1].transaction_id, seen[-1].position))
            finally:
                await store.pool.release(here)
    finally:
        await elsewhere.close()

    assert [event.stream_id for event in seen] == ["while-elsewhere-writes"]
    assert held_back == []


async def test_under_concurrent_writers_a_tailing_reader_sees_every_event_exactly_once(store: EventStore) -> None:
    writers, per_writer = 16, 25
    done = asyncio.Event()
    seen: list[int] = []

    async def write(writer: int) -> None:
        for n in range(per_writer):
            await store.append(f"w{writer}", n, [incremented(writer * 1000 + n)])

    async def tail() -> None:
        # Readers may trail the writers (an older transaction anywhere on the server holds them
        # back), so the reader stops when it has seen everything, not when the writers stop.
        cursor = Cursor.origin()
        while not (done.is_set() and len(seen) >= writers * per_writer):
            page = await store.read_all(cursor, limit=50)
            seen.extend(e.payload.by for e in page)
            if page:
                cursor = Cursor(page[-1].transaction_id, page[-1].position)
            else:
                await asyncio.sleep(0.001)
        seen.extend(e.payload.by for e in await store.read_all(cursor))  # anything beyond is a duplicate

    reader = asyncio.create_task(tail())
    await asyncio.gather(*(write(w) for w in range(writers)))
    done.set()
    await asyncio.wait_for(reader, timeout=30)

    assert sorted(seen) == sorted(w * 1000 + n for w in range(writers) for n in range(per_writer))
    assert len(seen) == len(set(seen))


async def test_older_event_versions_are_upcast_on_read(store: EventStore) -> None:
    await store.pool.execute(
        "INSERT INTO events (event_id, stream_id, stream_version, event_type, event_version, occurred_at, payload)"
        " VALUES ($1, 'old', 1, 'test.CounterIncremented', 1, now(), $2::jsonb)",
        uuid4(),
        json.dumps({"by": 5}),
    )

    [event] = await store.read_stream("old")

    assert event.payload == CounterIncremented(by=5, reason="unspecified")
    # Read as a stored event (for a folding projection): the current version's JSON, upcast too.
    [stored] = await StoredEvents(store).read_events([event.event_id])
    assert (stored.event_version, stored.data) == (event.event_version, {"by": 5, "reason": "unspecified"})


async def test_an_unknown_stored_event_type_is_a_clear_error(store: EventStore) -> None:
    await store.pool.execute(
        "INSERT INTO events (event_id, stream_id, stream_version, event_type, event_version, occurred_at, payload)"
        " VALUES ($1, 'odd', 1, 'test.Unheard', 1, now(), '{}'::jsonb)",
        uuid4(),
    )

    with pytest.raises(UnknownEventType, match=r"test\.Unheard"):
        await store.read_stream("odd")
    with pytest.raises(UnknownEventType, match=r"test\.Unheard"):
        await StoredEvents(store).read_all(Cursor.origin())


async def test_many_new_streams_start_in_one_append_and_none_if_one_already_exists(store: EventStore) -> None:
    positions = await store.start_streams({f"pair-{n}": [incremented(n), incremented(n)] for n in range(100)})

    assert len(positions) == 200
    assert [e.payload.by for e in await store.read_stream("pair-42")] == [42, 42]
    with pytest.raises(ConcurrencyError):
        await store.start_streams({"pair-new": [incremented()], "pair-7": [incremented()]})
    assert await store.read_stream("pair-new") == []


async def test_streams_started_together_may_each_carry_their_own_cause(store: EventStore) -> None:
    shared = EventMetadata(actor="round")
    by_cause = {f"caused-{n}": EventMetadata(causation_id=uuid4(), actor="policy") for n in range(3)}

    await store.start_streams(
        {stream_id: [incremented()] for stream_id in [*by_cause, "plain"]}, metadata=shared, metadata_of=by_cause
    )

    for stream_id, metadata in by_cause.items():
        [envelope] = await store.read_stream(stream_id)
        assert (envelope.causation_id, envelope.actor) == (metadata.causation_id, "policy")
    [plain] = await store.read_stream("plain")
    assert (plain.causation_id, plain.actor) == (None, "round")


async def test_concurrent_appends_to_many_streams_commit_together_each_with_its_own_outcome(store: EventStore) -> None:
    await store.append("stale", 0, [incremented()])

    outcomes = await asyncio.gather(
        *(store.append(f"together-{n}", 0, [incremented(n), incremented(n)]) for n in range(50)),
        store.append("stale", 0, [incremented()]),  # this one is behind: only it fails
        store.append("together-0", 0, [incremented()]),  # same stream twice: the later loses
        return_exceptions=True,
    )

    *together, stale, twice = outcomes
    assert all(not isinstance(o, BaseException) and o.stream_version == 2 for o in together)
    assert isinstance(stale, ConcurrencyError) and stale.actual_version == 1
    assert isinstance(twice, ConcurrencyError)
    positions = [p for o in together if not isinstance(o, BaseException) for p in o.positions]
    assert len(set(positions)) == 100
    assert [e.payload.by for e in await store.read_stream("together-7")] == [7, 7]
    stored = await read_until(store, Cursor.origin(), 101)
    assert len(stored) == 101
    # Together: the fifty appends shared a few transactions (statements), not one each.
    assert len({e.transaction_id for e in stored if e.stream_id.startswith("together-")}) < 10


async def test_an_append_postgresql_refuses_fails_alone_and_its_neighbours_commit(store: EventStore) -> None:
    """A NUL character cannot be stored in jsonb: only the append carrying it may fail."""
    outcomes = await asyncio.gather(
        *(store.append(f"innocent-{n}", 0, [incremented(n)]) for n in range(49)),
        store.append("poisoned", 0, [NewEvent(CounterIncremented(by=1, reason="nul \x00 inside"))]),
        return_exceptions=True,
    )

    *innocent, poisoned = outcomes
    assert [type(o).__name__ for o in innocent if isinstance(o, BaseException)] == []
    assert isinstance(poisoned, asyncpg.PostgresError)
    assert len(await read_until(store, Cursor.origin(), 49)) == 49
    assert await store.read_stream("poisoned") == []
