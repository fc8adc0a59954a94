"""Projections fold events into read models exactly once and rebuild without interrupting readers."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest
from kernel.events_for_tests import CounterIncremented, CounterReset
from tandem_kernel.events import EventEnvelope, NewEvent
from tandem_kernel.projections import Projection, ProjectionRunner, list_parked, replay_parked
from tandem_kernel.store import EventStore, StoredEvent


async def add(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, CounterIncremented)
    await connection.execute(
        "INSERT INTO totals VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + $2",
        envelope.stream_id,
        envelope.payload.by,
    )


async def reset(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    await connection.execute("UPDATE totals SET total = 0 WHERE stream_id = $1", envelope.stream_id)


TOTALS = Projection(
    "totals",
    read_schema="kernel_test_totals",
    ddl="CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)",
    handlers={CounterIncremented: add, CounterReset: reset},
)


async def totals(store: EventStore) -> dict[str, int]:
    rows = await store.pool.fetch("SELECT stream_id, total FROM kernel_test_totals.totals")
    return {row["stream_id"]: row["total"] for row in rows}


async def test_a_projection_applies_every_event_once_however_often_it_catches_up(
    store: EventStore, database_url: str
) -> None:
    runner = ProjectionRunner(TOTALS, store, dsn=database_url, batch_size=2)
    await runner.create_tables()
    await store.append("a", 0, [NewEvent(CounterIncremented(by=n, reason="x")) for n in (1, 2, 3)])
    await store.append("b", 0, [NewEvent(CounterIncremented(by=10, reason="x"))])

    await runner.catch_up()
    await runner.catch_up()

    assert await totals(store) == {"a": 6, "b": 10}
    assert await runner.behind() == 0


async def test_a_rebuild_builds_new_tables_and_swaps_them_in_while_the_old_ones_serve(
    store: EventStore, database_url: str
) -> None:
    runner = ProjectionRunner(TOTALS, store, dsn=database_url, batch_size=3)
    await runner.create_tables()
    for n in range(10):
        await store.append(f"s{n % 2}", n // 2, [NewEvent(CounterIncremented(by=1, reason="x"))])
    await runner.catch_up()
    # The read model drifted (a bug, a hand edit): a rebuild is what fixes it.
    await store.pool.execute("UPDATE kernel_test_totals.totals SET total = 999")
    seen_during_rebuild: list[dict[str, int]] = []
    progress: list[tuple[int, int]] = []

    def record(done: int, total: int) -> None:
        progress.append((done, total))

    original = runner._apply_batch

    async def apply_and_peek(connection, schema, cursor):  # type: ignore[no-untyped-def]
        seen_during_rebuild.append(await totals(store))
        return await original(connection, schema, cursor)

    runner._apply_batch = apply_and_peek  # type: ignore[method-assign]
    applied = await runner.rebuild(record)

    assert applied == 10
    assert all(snapshot == {"s0": 999, "s1": 999} for snapshot in seen_during_rebuild)
    assert await totals(store) == {"s0": 5, "s1": 5}
    assert progress[-1] == (10, 10)
    # The swapped-in tables serve with statistics (planned as what they hold, not as empty).
    analyzed = await store.pool.fetchval(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = 'kernel_test_totals' AND relname = 'totals'"
    )
    assert analyzed is not None
    await store.append("s0", 5, [NewEvent(CounterReset())])
    await runner.catch_up()
    assert await totals(store) == {"s0": 0, "s1": 5}


async def add_all(events: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
    """One statement for the whole batch; a negative increment stands for an event it cannot take."""
    increments = [(e.stream_id, e.payload.by) for e in events if isinstance(e.payload, CounterIncremented)]
    await _add_increments(increments, connection)


async def _add_increments(increments: Sequence[tuple[str, int]], connection: asyncpg.Connection) -> None:
    if any(by < 0 for _, by in increments):
        raise ValueError("a negative increment")
    await connection.execute(
        "INSERT INTO totals SELECT stream_id, sum(by)::int FROM unnest($1::text[], $2::int[]) AS i(stream_id, by)"
        " GROUP BY stream_id ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + excluded.total",
        [stream_id for stream_id, _ in increments],
        [by for _, by in increments],
    )


BATCHED = Projection(
    "batched",
    read_schema="kernel_test_batched",
    ddl="CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)",
    batch=add_all,
)


async def test_a_batch_projection_applies_each_batch_in_one_go_and_a_bad_event_alone_is_parked(
    store: EventStore, database_url: str
) -> None:
    runner = ProjectionRunner(BATCHED, store, dsn=database_url, batch_size=50, max_attempts=1)
    await runner.create_tables()
    for n in range(120):
        await store.append(f"s{n % 4}", n // 4, [NewEvent(CounterIncremented(by=-1 if n == 77 else 1, reason="x"))])

    await runner.catch_up()  # the batch with event 77 fails whole, is applied one by one, 77 parked
    rows = await store.pool.fetch("SELECT stream_id, total FROM kernel_test_batched.totals ORDER BY stream_id")

    assert {row["stream_id"]: row["total"] for row in rows} == {"s0": 30, "s1": 29, "s2": 30, "s3": 30}
    assert [parked.stream_id for parked in await list_parked(store.pool)] == ["s1"]


async def add_all_stored(events: Sequence[StoredEvent], connection: asyncpg.Connection) -> None:
    """`add_all`, folding stored events: the payloads' JSON, no models."""
    increments = [(e.stream_id, e.data["by"]) for e in events if e.event_type == CounterIncremented.event_type]
    await _add_increments(increments, connection)


STORED = Projection(
    "stored",
    read_schema="kernel_test_stored",
    ddl="CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)",
    batch=add_all_stored,
    stored=True,
)


async def test_a_projection_of_stored_events_folds_the_payloads_json_parks_replays_and_rebuilds(
    store: EventStore, database_url: str
) -> None:
    runner = ProjectionRunner(STORED, store, dsn=database_url, batch_size=50, max_attempts=1)
    await runner.create_tables()
    for n in range(120):
        await store.append(f"s{n % 4}", n // 4, [NewEvent(CounterIncremented(by=-1 if n == 77 else 1, reason="x"))])

    await runner.catch_up()
    stored_totals = "SELECT stream_id, total FROM kernel_test_stored.totals ORDER BY stream_id"
    assert {row["stream_id"]: row["total"] for row in await store.pool.fetch(stored_totals)} == {
        "s0": 30,
        "s1": 29,
        "s2": 30,
        "s3": 30,
    }
    [parked] = await list_parked(store.pool)
    assert parked.stream_id == "s1"
    # Replayed, it is read as a stored event again (and fails again: it is what it is).
    assert await replay_parked(store.pool, [runner]) == {parked.id: "failed"}
    await store.append("s0", 30, [NewEvent(CounterIncremented(by=5, reason="x"))])
    with pytest.raises(Exception, match="a negative increment"):
        await runner.rebuild()  # 77 is still refused: the rebuild stops, the live model stays
    assert {row["stream_id"]: row["total"] for row in await store.pool.fetch(stored_totals)}["s0"] == 30


def test_only_a_batch_projection_of_the_services_own_events_reads_stored_events() -> None:
    with pytest.raises(ValueError, match="stored=True"):
        Projection("p", read_schema="p", ddl="", handlers={CounterIncremented: add}, stored=True)
    with pytest.raises(ValueError, match="stored=True"):
        Projection("p", read_schema="p", ddl="", batch=add_all_stored, consumes=("topic",), stored=True)
