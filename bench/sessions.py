"""The sessions planning benchmark: a year of bi-weekly sessions for N newly activated pairs, and
re-planning one person's two pairs after an availability change.

    .venv/bin/python bench/sessions.py                  # 10,000 pairs (the target: under 60 s)
    .venv/bin/python bench/sessions.py --pairs 500      # a quick run
    .venv/bin/python bench/sessions.py --pairs 1000 --per-pair   # batches against pair by pair

Synthetic people in eleven time zones (Europe, the Americas, Asia, Oceania, across the date line),
each with two or three weekly windows of two to three hours between 07:00 and 19:00 local time; most
juniors share their senior's zone and one window (pairing pairs people whose availability meets), the
others are a zone away. Every senior mentors two juniors, so half the pairs plan around their
senior's other pair. Three rows:

1. the pure planner (`domain.planning.plan`) alone, pair after pair, the senior's other sessions as
   busy time;
2. the service's path for activations (`application.activations`): each pair queued as the
   PairActivated handler queues it (8 at a time, a transaction each, timed apart), then the queue
   planned as the planning job does, in batches of 500 pairs, two at a time, one transaction each
   (people locked and read, plans made in memory, events appended and the ledger written
   set-based); programs, people and pairs bulk-inserted first, not timed. With `--per-pair`, also
   the path before batches
   (`planner.replan`, one transaction per pair, 8 at a time) on a database of its own, for
   comparison in the same run;
3. one senior changes their availability: both their pairs re-planned (unfit sessions cancelled,
   new ones planned), as the enrollment policy does; median and worst of 10 changes (target < 100 ms).

Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default postgres@127.0.0.1:5432); the database is its own,
dropped afterwards. Progress goes to stderr; stdout is the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import TypeVar
from uuid import UUID, uuid4

from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore
from tandem_kernel.testing import fresh_database
from tandem_sessions.adapters import directory
from tandem_sessions.application import activations, planner
from tandem_sessions.domain import Interval, Person, Window, plan
from tandem_sessions.domain.calendar import public_holidays, weekend_of
from tandem_sessions.entrypoints.app import registry, service

T = TypeVar("T")
SCHEMA = "sessions"
ACTIVATED = datetime(2027, 1, 4, 8, tzinfo=UTC)
YEAR = timedelta(days=365)
CADENCE, MINUTES = 14, 45
ZONES = [
    ("Europe/Paris", "FR"),
    ("Europe/London", "GB"),
    ("Europe/Berlin", "DE"),
    ("America/New_York", "US"),
    ("America/Sao_Paulo", "BR"),
    ("Asia/Kolkata", "IN"),
    ("Asia/Singapore", "SG"),
    ("Asia/Tokyo", "JP"),
    ("Australia/Sydney", "AU"),
    ("Pacific/Auckland", "NZ"),
    ("Pacific/Honolulu", "US"),
]


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def windows(rng: random.Random) -> list[dict[str, str | int]]:
    found = []
    for day in sorted(rng.sample(range(5), rng.choice([2, 3]))):
        start = rng.randint(7, 16)
        found.append({"weekday": day, "start": f"{start:02d}:00", "end": f"{start + rng.choice([2, 3]):02d}:00"})
    return found


def a_profile(rng: random.Random, region: int, partner: dict[str, object] | None = None) -> dict[str, object]:
    # Pairing pairs people whose availability overlaps: most juniors share their senior's zone and
    # one of their windows; the others are a zone away, with windows of their own.
    if partner is not None and rng.random() < 0.7:
        shared = rng.choice(partner["availability"])  # type: ignore[arg-type]
        return {**partner, "availability": [shared, *windows(rng)]}
    zone, country = ZONES[min(len(ZONES) - 1, max(0, region + rng.choice([-1, 0, 1])))]
    return {"time_zone": zone, "country": country, "availability": windows(rng), "languages": ["en"]}


def person_of(participant_id: UUID, profile: dict[str, object]) -> Person:
    availability = profile["availability"]
    assert isinstance(availability, list)
    return Person(
        participant_id,
        str(profile["time_zone"]),
        str(profile["country"]),
        tuple(
            Window(int(w["weekday"]), clock_time.fromisoformat(w["start"]), clock_time.fromisoformat(w["end"]))
            for w in availability
        ),
    )


def generate(pairs: int, seed: int) -> tuple[dict[UUID, dict[str, object]], list[tuple[UUID, UUID, UUID]]]:
    """People and pairs (pair, junior, senior): every senior with two juniors."""
    rng = random.Random(seed)
    people: dict[UUID, dict[str, object]] = {}
    found = []
    for _ in range((pairs + 1) // 2):
        region = rng.randrange(len(ZONES))
        senior = uuid4()
        people[senior] = a_profile(rng, region)
        for _ in range(2):
            if len(found) == pairs:
                break
            junior = uuid4()
            people[junior] = a_profile(rng, region, people[senior])
            found.append((uuid4(), junior, senior))
    return people, found


def warm_up() -> None:
    """Load each country's holiday rules once (a service does it on its first pair), not timed."""
    for _, country in ZONES:
        weekend_of(country)
        for year in (2027, 2028):
            public_holidays(country, year)


def pure_planning(people: dict[UUID, dict[str, object]], pairs: list[tuple[UUID, UUID, UUID]]) -> dict[str, float]:
    booked: dict[UUID, list[Interval]] = {}
    duration = timedelta(minutes=MINUTES)
    started = time.perf_counter()
    sessions = flagged = 0
    for _, junior, senior in pairs:
        outcome = plan(
            person_of(junior, people[junior]),
            person_of(senior, people[senior]),
            base=ACTIVATED + timedelta(days=1),
            until=ACTIVATED + YEAR,
            cadence=timedelta(days=CADENCE),
            duration=duration,
            busy=[*booked.get(junior, []), *booked.get(senior, [])],
        )
        for start in outcome.starts:
            for who in (junior, senior):
                booked.setdefault(who, []).append(Interval(start, start + duration))
        sessions += len(outcome.starts)
        flagged += outcome.attention is not None
    return {"seconds": time.perf_counter() - started, "sessions": sessions, "flagged": flagged}


async def load(store: EventStore, people: dict[UUID, dict[str, object]], pairs: list[tuple[UUID, UUID, UUID]]) -> UUID:
    program_id = uuid4()
    async with store.pool.acquire() as connection, connection.transaction():
        await directory.record_program(
            connection,
            program_id,
            cadence_days=CADENCE,
            session_minutes=MINUTES,
            start_date=date(2027, 1, 1),
            end_date=date(2027, 12, 31),
            objectives={},
        )
        await connection.copy_records_to_table(
            "people",
            columns=["participant_id", "program_id", "employee_id", "status", "profile"],
            records=[
                (pid, program_id, f"E{n:06}", "enrolled", json.dumps(p)) for n, (pid, p) in enumerate(people.items())
            ],
        )
        await connection.copy_records_to_table(
            "pairs",
            columns=["pair_id", "program_id", "junior_id", "senior_id", "activated_at", "rotation_due_at", "status"],
            records=[(pair, program_id, j, s, ACTIVATED, ACTIVATED + YEAR, "active") for pair, j, s in pairs],
        )
        await connection.execute("ANALYZE people; ANALYZE pairs")
    return program_id


async def counts(store: EventStore) -> dict[str, float]:
    sessions = await store.pool.fetchval("SELECT count(*) FROM sessions")
    events = await store.pool.fetchval("SELECT count(*) FROM events")
    return {"sessions": sessions, "events": events}


async def in_batches(store: EventStore, pairs: list[tuple[UUID, UUID, UUID]]) -> dict[str, float]:
    gate = asyncio.Semaphore(8)

    async def queue(pair_id: UUID) -> None:  # as the PairActivated handler does, in the consumer's transaction
        async with gate, store.pool.acquire() as connection, connection.transaction():
            metadata = EventMetadata(correlation_id=uuid4(), causation_id=uuid4(), actor="bench")
            await activations.queue(connection, pair_id, now=ACTIVATED, metadata=metadata, wake=None)

    started = time.perf_counter()
    await asyncio.gather(*(queue(pair_id) for pair_id, _, _ in pairs))
    queued = time.perf_counter()
    taken = await activations.plan_all_queued(store)
    planned = time.perf_counter()
    assert taken == len(pairs)
    return {"queueing": queued - started, "seconds": planned - queued, **await counts(store)}


async def pair_by_pair(store: EventStore, pairs: list[tuple[UUID, UUID, UUID]]) -> dict[str, float]:
    metadata = EventMetadata(actor="bench")
    gate = asyncio.Semaphore(8)

    async def one(pair_id: UUID) -> None:
        async with gate:
            await planner.replan(store, pair_id, now=ACTIVATED, metadata=metadata)

    started = time.perf_counter()
    await asyncio.gather(*(one(pair_id) for pair_id, _, _ in pairs))
    return {"seconds": time.perf_counter() - started, **await counts(store)}


async def replanning(
    store: EventStore, people: dict[UUID, dict[str, object]], pairs: list[tuple[UUID, UUID, UUID]], seed: int
) -> list[float]:
    rng = random.Random(seed + 1)
    seniors = [senior for senior in {s for _, _, s in pairs} if sum(1 for _, _, s in pairs if s == senior) == 2]
    metadata = EventMetadata(actor="bench")
    timings = []
    for senior in rng.sample(seniors, min(10, len(seniors))):
        theirs = [pair_id for pair_id, _, s in pairs if s == senior]
        now = ACTIVATED + timedelta(days=rng.randint(20, 200))
        started = time.perf_counter()
        async with store.transaction() as unit:  # as the policy runs: the consumer's one transaction
            await directory.update_profile(unit.connection, senior, {"availability": windows(rng)})
            for pair_id in theirs:
                await planner.replan(store, pair_id, now=now, metadata=metadata, connection=unit.connection)
        timings.append(time.perf_counter() - started)
    return timings


async def on_a_database(name: str, work: Callable[[EventStore], Awaitable[T]]) -> T:
    async with fresh_database(name) as dsn:
        await migrate(dsn, SCHEMA, service.migrations)
        pool = await create_pool(dsn, SCHEMA, max_size=10)
        try:
            return await work(EventStore(pool, schema=SCHEMA, registry=registry()))
        finally:
            await pool.close()


async def measure(pairs_wanted: int, seed: int, per_pair: bool) -> None:
    people, pairs = generate(pairs_wanted, seed)
    progress(f"{len(pairs):,} pairs, {len(people):,} people: the pure planner")
    warm_up()
    pure = pure_planning(people, pairs)
    progress(f"  {pure['seconds']:.2f}s")

    async def batches_then_replanning(store: EventStore) -> tuple[dict[str, float], list[float]]:
        await load(store, people, pairs)
        progress("  queued as the handler does, then planned in batches")
        batched = await in_batches(store, pairs)
        progress(f"  queueing {batched['queueing']:.2f}s, planning {batched['seconds']:.2f}s")
        progress("  re-planning a senior's two pairs, 10 times")
        return batched, await replanning(store, people, pairs, seed)

    async def one_by_one(store: EventStore) -> dict[str, float]:
        await load(store, people, pairs)
        progress("  pair by pair through planner.replan (8 at a time)")
        found = await pair_by_pair(store, pairs)
        progress(f"  {found['seconds']:.2f}s")
        return found

    batched, timings = await on_a_database("tandem_bench", batches_then_replanning)
    before = await on_a_database("tandem_bench_per_pair", one_by_one) if per_pair else None
    n = len(pairs)
    print("| # | benchmark | pairs | sessions planned | seconds | pairs/s | notes |")
    print("|---|---|---:|---:|---:|---:|---|")
    print(
        f"| 1 | a year of bi-weekly sessions, pure planner | {n:,} | {pure['sessions']:,.0f} | {pure['seconds']:.2f} "
        f"| {n / pure['seconds']:,.0f} | {pure['flagged']:.0f} pairs without a common slot flagged |"
    )
    total = batched["queueing"] + batched["seconds"]
    verdict = "✓" if total * 10_000 / n < 60 else "✗"
    print(
        f"| 2 | the same activations queued, then planned in batches on PostgreSQL | {n:,} "
        f"| {batched['sessions']:,.0f} | {total:.2f} | {n / total:,.0f} | queueing {batched['queueing']:.2f} s, "
        f"planning {batched['seconds']:.2f} s; {batched['events']:,.0f} events appended; 10,000 pairs at this rate: "
        f"{total * 10_000 / n:.0f} s (target < 60 s {verdict}) |"
    )
    if before is not None:
        print(
            f"| 2b | the same pair by pair through `planner.replan` (before batches) | {n:,} "
            f"| {before['sessions']:,.0f} | {before['seconds']:.2f} | {n / before['seconds']:,.0f} "
            f"| {before['events']:,.0f} events appended |"
        )
    median, worst = statistics.median(timings) * 1000, max(timings) * 1000
    print(
        f"| 3 | re-plan one senior's 2 pairs after an availability change | 2 | | | "
        f"| median {median:.0f} ms, worst {worst:.0f} ms of {len(timings)} (target < 100 ms "
        f"{'✓' if median < 100 else '✗'}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--per-pair", action="store_true", help="also plan pair by pair, as before batches")
    args = parser.parse_args()
    asyncio.run(measure(args.pairs, args.seed, args.per_pair))


if __name__ == "__main__":
    main()
