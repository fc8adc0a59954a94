"""Planning activated pairs in batches (`application.activations`) on a real PostgreSQL database:
the same sessions as planning pair by pair, a senior's two pairs apart, and nothing twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import asyncpg
import pytest_asyncio
from tandem_kernel.consumers import MessageProcessor, Outcome
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventMetadata, EventRegistry
from tandem_kernel.metrics import WORK_HELD
from tandem_kernel.published import Publisher
from tandem_kernel.store import EventStore
from tandem_kernel.testing import fresh_database
from tandem_pairing.domain import events as pairing_events
from tandem_sessions.adapters import directory
from tandem_sessions.application import activations, planner
from tandem_sessions.application.booking import lock_people
from tandem_sessions.application.policies import pairing_subscription
from tandem_sessions.domain.schedule import PairRef
from tandem_sessions.entrypoints.app import registry, service

ACTIVATED = datetime(2027, 1, 4, 8, tzinfo=UTC)
CAUSE = EventMetadata(actor="test")
ZONES = [("Europe/Paris", "FR"), ("Europe/London", "GB"), ("America/New_York", "US"), ("Asia/Tokyo", "JP")]


class Database(NamedTuple):
    dsn: str
    store: EventStore


@pytest_asyncio.fixture
async def databases() -> AsyncIterator[tuple[Database, Database]]:
    """Two sessions databases: one to plan pair by pair, one in batches."""
    async with fresh_database("tandem_batch_a") as first, fresh_database("tandem_batch_b") as second:
        pools: list[asyncpg.Pool] = []
        try:
            for dsn in (first, second):
                await migrate(dsn, "sessions", service.migrations)
                pools.append(await create_pool(dsn, "sessions", max_size=6))
            one, other = (
                Database(dsn, EventStore(pool, schema="sessions", registry=registry()))
                for dsn, pool in zip((first, second), pools, strict=True)
            )
            yield one, other
        finally:
            for pool in pools:
                await pool.close()


def windows(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {"weekday": day, "start": f"{start:02d}:00", "end": f"{start + rng.choice([1, 2]):02d}:00"}
        for day in sorted(rng.sample(range(5), 2))
        for start in [rng.randint(8, 15)]
    ]


def profiles(rng: random.Random, seniors: int) -> tuple[dict[UUID, dict[str, Any]], list[tuple[UUID, UUID, UUID]]]:
    """People and (pair, junior, senior): every senior with two juniors, most sharing one window."""
    people: dict[UUID, dict[str, Any]] = {}
    pairs = []
    for _ in range(seniors):
        zone, country = rng.choice(ZONES)
        senior = uuid4()
        people[senior] = {"time_zone": zone, "country": country, "availability": windows(rng)}
        for _ in range(2):
            junior = uuid4()
            shared = rng.choice(people[senior]["availability"])
            people[junior] = {**people[senior], "availability": [shared, *windows(rng)]}
            pairs.append((uuid4(), junior, senior))
    return people, pairs


async def record(store: EventStore, people: dict[UUID, dict[str, Any]], pairs: list[tuple[UUID, UUID, UUID]]) -> None:
    """The program, people and pairs as the subscriptions record them."""
    program_id = uuid4()
    async with store.pool.acquire() as connection, connection.transaction():
        await directory.record_program(
            connection,
            program_id,
            cadence_days=14,
            session_minutes=45,
            start_date=date(2027, 1, 1),
            end_date=date(2027, 6, 30),
            objectives={},
        )
        for n, (participant_id, profile) in enumerate(people.items()):
            await directory.record_person(connection, participant_id, program_id, f"E{n:05}", profile)
        for pair_id, junior, senior in pairs:
            ref = PairRef(pair_id, program_id, junior, senior)
            await directory.record_pair(connection, ref, ACTIVATED, ACTIVATED + timedelta(days=120))


async def queue(store: EventStore, pairs: list[tuple[UUID, UUID, UUID]]) -> None:
    async with store.pool.acquire() as connection, connection.transaction():
        for pair_id, _, _ in pairs:
            await activations.queue(connection, pair_id, now=ACTIVATED, metadata=CAUSE, wake=None)


async def planned(store: EventStore) -> dict[UUID, tuple[list[datetime], str | None]]:
    """Each pair's scheduled starts and attention flag, from the ledger."""
    rows = await store.pool.fetch(
        "SELECT p.pair_id, p.attention, array_remove(array_agg(s.starts_at ORDER BY s.starts_at), NULL) AS starts"
        " FROM pairs p LEFT JOIN sessions s ON s.pair_id = p.pair_id AND s.status = 'scheduled' GROUP BY p.pair_id"
    )
    return {row["pair_id"]: (list(row["starts"]), row["attention"]) for row in rows}


async def test_a_batch_plans_exactly_what_planning_pair_by_pair_in_queue_order_would(
    databases: tuple[Database, Database],
) -> None:
    one_by_one, batched = (database.store for database in databases)
    people, pairs = profiles(random.Random(7), seniors=25)
    for store in (one_by_one, batched):
        await record(store, people, pairs)
    await queue(batched, pairs)
    order = [
        row["pair_id"]
        for row in await batched.pool.fetch("SELECT pair_id FROM pairs_to_plan ORDER BY queued_at, pair_id")
    ]

    for pair_id in order:
        await planner.replan(one_by_one, pair_id, now=ACTIVATED, metadata=CAUSE)
    while await activations.plan_queued(batched, limit=7):  # batch boundaries anywhere, even between a senior's pairs
        pass

    expected, found = await planned(one_by_one), await planned(batched)
    assert found == expected
    assert sum(len(starts) for starts, _ in found.values()) > 100
    assert await batched.pool.fetchval("SELECT count(*) FROM pairs_to_plan") == 0


async def test_a_seniors_two_pairs_in_one_batch_never_overlap(databases: tuple[Database, Database]) -> None:
    store = databases[0].store
    only_monday_nine = {
        "time_zone": "Europe/Paris",
        "country": "FR",
        "availability": [{"weekday": 0, "start": "09:00", "end": "10:00"}],
    }
    senior, juniors = uuid4(), [uuid4(), uuid4()]
    pairs = [(uuid4(), junior, senior) for junior in juniors]
    await record(store, dict.fromkeys([senior, *juniors], only_monday_nine), pairs)
    await queue(store, pairs)

    assert await activations.plan_all_queued(store) == 2

    rows = await store.pool.fetch(
        "SELECT pair_id, starts_at, ends_at FROM sessions WHERE senior_id = $1 AND status = 'scheduled'"
        " ORDER BY starts_at",
        senior,
    )
    assert {row["pair_id"] for row in rows} == {pair_id for pair_id, _, _ in pairs}
    assert all(earlier["ends_at"] <= later["starts_at"] for earlier, later in pairwise(rows))


async def test_a_persons_pairs_are_re_planned_under_locks_taken_in_a_batchs_order(
    databases: tuple[Database, Database],
) -> None:
    """A batch holding the first of a senior's people and then wanting the senior must not close a
    cycle with a profile change re-planning the senior's pairs (which once locked pair after pair)."""
    store = databases[0].store
    only_monday_nine = {
        "time_zone": "Europe/Paris",
        "country": "FR",
        "availability": [{"weekday": 0, "start": "09:00", "end": "10:00"}],
    }
    first, senior, last = (UUID(int=n) for n in (1, 2, 3))  # the locks' order is the ids' text order
    pairs = [(UUID(int=10), last, senior), (UUID(int=11), first, senior)]  # re-planned in pair id order
    await record(store, dict.fromkeys([first, senior, last], only_monday_nine), pairs)

    async def profile_change() -> list[UUID]:
        async with store.transaction() as unit:
            return await planner.replan_pairs_of(
                store, senior, now=ACTIVATED, metadata=CAUSE, connection=unit.connection
            )

    async with store.pool.acquire() as batch, batch.transaction():
        await lock_people(batch, [first])
        replanning = asyncio.create_task(profile_change())
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        while not await store.pool.fetchval(waiting):
            await asyncio.sleep(0.01)
        await lock_people(batch, [senior])  # waits for nobody: the re-plan holds no lock yet

    assert await replanning == [UUID(int=10), UUID(int=11)]
    assert await store.pool.fetchval("SELECT count(DISTINCT pair_id) FROM sessions WHERE status = 'scheduled'") == 2


async def test_profile_changes_racing_the_batches_never_double_book(databases: tuple[Database, Database]) -> None:
    store = databases[0].store
    rng = random.Random(11)
    people, pairs = profiles(rng, seniors=30)
    await record(store, people, pairs)
    await queue(store, pairs)
    seniors = sorted({senior for _, _, senior in pairs}, key=str)[:8]

    async def change_availability(senior: UUID) -> None:  # as the enrollment policy does, in one transaction
        async with store.transaction() as unit:
            await directory.update_profile(unit.connection, senior, {"availability": windows(rng)})
            await planner.replan_pairs_of(store, senior, now=ACTIVATED, metadata=CAUSE, connection=unit.connection)

    await asyncio.gather(
        activations.plan_all_queued(store),
        *(change_availability(senior) for senior in seniors),
        activations.plan_all_queued(store, concurrency=1),
    )

    assert await store.pool.fetchval("SELECT count(*) FROM pairs_to_plan") == 0
    assert await store.pool.fetchval("SELECT count(*) FROM sessions WHERE status = 'scheduled'") > 200
    double_booked = await store.pool.fetchval(
        "SELECT count(*) FROM sessions a JOIN sessions b ON a.session_id < b.session_id"
        " AND a.status = 'scheduled' AND b.status = 'scheduled'"
        " AND (a.junior_id IN (b.junior_id, b.senior_id) OR a.senior_id IN (b.junior_id, b.senior_id))"
        " AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at"
    )
    assert double_booked == 0


async def test_a_pair_whose_planning_fails_stays_queued_with_its_error_and_holds_nobody_up(
    databases: tuple[Database, Database],
) -> None:
    store = databases[0].store
    people, pairs = profiles(random.Random(5), seniors=3)
    unreadable = pairs[2][1]  # the junior of the second senior's first pair
    people[unreadable] = {**people[unreadable], "availability": [{"weekday": 0, "start": "nine", "end": "10:00"}]}
    await record(store, people, pairs)
    await queue(store, pairs)

    assert await activations.plan_all_queued(store) == len(pairs)

    left = await store.pool.fetch("SELECT pair_id, error FROM pairs_to_plan")
    assert [(row["pair_id"], "nine" in row["error"]) for row in left] == [(pairs[2][0], True)]
    found = await planned(store)
    assert all(found[pair_id][0] for pair_id, _, _ in pairs if pair_id != pairs[2][0])
    assert await activations.plan_all_queued(store) == 0
    assert WORK_HELD.labels(activations.HELD)._value.get() == 1  # what the TandemWorkHeld alert watches


async def test_a_held_pair_is_tried_again_after_an_hour_and_planned_once_its_person_is_fixed(
    databases: tuple[Database, Database],
) -> None:
    store = databases[0].store
    people, pairs = profiles(random.Random(5), seniors=1)
    held, junior = pairs[0][0], pairs[0][1]
    readable = people[junior]
    people[junior] = {**readable, "availability": [{"weekday": 0, "start": "nine", "end": "10:00"}]}
    await record(store, people, pairs)
    await queue(store, pairs)
    await activations.plan_all_queued(store)

    await activations.plan_all_queued(store, retry_held=True)  # within the hour: left alone
    assert await store.pool.fetchval("SELECT failed_at < now() - interval '1 minute' FROM pairs_to_plan") is False
    await store.pool.execute("UPDATE pairs_to_plan SET failed_at = failed_at - interval '61 minutes'")
    await activations.plan_all_queued(store, retry_held=True)  # tried again, fails again: held again
    assert await store.pool.fetchval("SELECT failed_at > now() - interval '1 minute' FROM pairs_to_plan") is True

    async with store.transaction() as unit:  # the junior fixes their availability: the policy re-plans
        await directory.update_profile(unit.connection, junior, {"availability": readable["availability"]})
        await planner.replan(store, held, now=ACTIVATED, metadata=CAUSE, connection=unit.connection)
        await activations.let_go(unit.connection, held)

    assert await store.pool.fetchval("SELECT count(*) FROM pairs_to_plan") == 0
    assert (await planned(store))[held][0]
    await activations.plan_all_queued(store)
    assert WORK_HELD.labels(activations.HELD)._value.get() == 0


async def test_a_redelivered_or_repeated_activation_plans_nothing_twice(databases: tuple[Database, Database]) -> None:
    dsn, store = databases[0]
    people, pairs = profiles(random.Random(3), seniors=1)
    await record(store, people, pairs)
    processor = MessageProcessor(pairing_subscription(store), store.pool, _no_dead_letters)
    producer = await Publisher.start(dsn, "pairing", EventRegistry(pairing_events.PAIRING_EVENTS))
    try:
        (pair_id, junior, senior), program_id = (
            pairs[0],
            await store.pool.fetchval("SELECT program_id FROM pairs LIMIT 1"),
        )
        activated = pairing_events.PairActivated(
            pair_id=pair_id,
            program_id=program_id,
            junior_id=junior,
            senior_id=senior,
            activated_at=ACTIVATED,
            rotation_due_at=ACTIVATED + timedelta(days=120),
        )
        [message] = await producer.publish(f"pair-{pair_id}", [activated])
        assert await processor.process(message) == Outcome.HANDLED
        assert await processor.process(message) == Outcome.DUPLICATE
        assert await activations.plan_all_queued(store) == 1
        history = await store.read_stream(f"schedule-{pair_id}")
        assert history and {event.causation_id for event in history} == {message_id(message)}

        assert await processor.process(message) == Outcome.DUPLICATE
        await queue(store, pairs[:1])  # the same pair activated again: it already has its schedule
        assert await activations.plan_all_queued(store) == 1
    finally:
        await producer.close()

    assert len(await store.read_stream(f"schedule-{pair_id}")) == len(history)
    assert await store.pool.fetchval("SELECT count(*) FROM sessions WHERE pair_id = $1", pair_id) == len(
        [event for event in history if event.event_type == "sessions.SessionScheduled"]
    )


async def _no_dead_letters(*args: object) -> None:
    raise AssertionError(f"nothing here should be dead-lettered: {args}")


def message_id(message: Any) -> UUID:
    return UUID(message.headers["ce_id"])
