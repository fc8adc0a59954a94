"""Read models catching up and rebuilt from their history, beside a bare COPY of the same rows.

    .venv/bin/python bench/projections.py               # 200,000 events per read model, a few minutes
    .venv/bin/python bench/projections.py --quick       # a smoke run
    .venv/bin/python bench/projections.py --per-event   # also the per-event handlers batching replaced

For each read model (enrollment's participants, pairing's proposals and rounds), from one history:
- catch-up: the live projection applies the whole history from an empty read model, as after a bulk
  import (the service's batch size, `ProjectionRunner`'s default);
- rebuild: `ProjectionRunner.rebuild`, a fresh schema built beside the live one and swapped in;
- reading only: the same events read and decoded by the store (personal fields opened), applied
  nowhere: the part of catch-up that is not the read model's;
- ceiling: the read model's final rows written by a bare `COPY` into identical tables, in the same
  run, counted in the events they stand for.

CPU is given an event for the bench process and for PostgreSQL (the backends of the bench's
database, read from /proc: the server must run on this machine; its background writers are not
counted).

Enrollment's history is a CSV import through the application layer (enrolled + approved per person,
personal fields sealed per person) with profile changes, withdrawals and erasures of 1 person in
100. Pairing's is generated: rounds of 2,000 proposals, each pair through one lifecycle (accepted,
activated, reminded, flagged, ended, declined, expired, withdrawn), whole streams appended together.

Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default postgres@127.0.0.1:5432); creates and drops its own
databases. Progress goes to stderr; stdout is the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import os
import random
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from _workload import Measurement, Timer
from tandem_enrollment.adapters.read_model import participants_projection
from tandem_enrollment.application import FileFormat, enrollments, import_rows, parse_file, programs
from tandem_enrollment.domain import CreateProgram, UpdateParticipantProfile, WithdrawParticipant
from tandem_enrollment.entrypoints import app as enrollment_app
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, as_csv, sample_people
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import Projection, ProjectionRunner
from tandem_kernel.runtime import freeze_startup_objects
from tandem_kernel.store import Cursor, EventStore
from tandem_kernel.testing import fresh_database
from tandem_pairing.adapters.read_model import pairs_projection
from tandem_pairing.domain.events import (
    DeclineReason,
    EndReason,
    PairActivated,
    PairBecameInfeasible,
    PairEnded,
    PairingRoundCompleted,
    PairingRoundStarted,
    PairProposed,
    ProgramPairingSettings,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ProposalReminderDue,
    ProposalWithdrawn,
    RoundKind,
    WithdrawalReason,
)
from tandem_pairing.domain.participants import Role
from tandem_pairing.domain.score import ScoreBreakdown
from tandem_pairing.entrypoints import app as pairing_app

ACTOR = EventMetadata(actor="bench")
ROOT = Path(__file__).resolve().parent.parent


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def per_event(service: str) -> Projection:
    """The per-event handlers the batched read model replaced, kept by the tests as its specification."""
    path = ROOT / "tests" / service / "integration" / "per_event_read_model.py"
    spec = importlib.util.spec_from_file_location(f"{service}_per_event_read_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    projection: Projection = module.per_event_projection
    return projection


# -- histories ---------------------------------------------------------------------------------


async def enrollment_history(store: EventStore, events: int) -> None:
    """A CSV import of `events / 2` people, then 1 in 100 of them changed, withdrawn or erased."""
    created = await programs.create(
        store, CreateProgram.model_validate({**DEMO_PROGRAM, "capacity": None}), metadata=ACTOR
    )
    assert created.state is not None
    program_id = created.state.program_id
    await programs.open_(store, program_id, metadata=ACTOR)
    people = events // 2
    content = as_csv(sample_people(people, seed=200_000, first_employee=100_000)).encode()
    rows = await asyncio.to_thread(parse_file, content, FileFormat.CSV, program_id)
    progress(f"importing {people:,} people")
    totals = await import_rows(store, program_id, rows, metadata=ACTOR, concurrency=8)
    participants = [
        UUID(str(row["stream_id"]).removeprefix("participant-"))
        for row in await store.pool.fetch(
            "SELECT stream_id FROM events WHERE event_type = 'enrollment.ParticipantEnrolled'"
        )
    ]
    progress(f"{totals.enrolled:,} enrolled; changing, withdrawing and erasing 1 in 100")
    rng = random.Random(7)
    chosen = rng.sample(participants, max(3, len(participants) // 100))

    async def change(n: int, participant_id: UUID) -> None:
        if n % 3 == 0:
            update = UpdateParticipantProfile.model_validate({"site": "Lyon", "display_name": f"Renamed {n}"})
            await enrollments.update_profile(store, program_id, participant_id, update, metadata=ACTOR)
        elif n % 3 == 1:
            await enrollments.withdraw(store, program_id, participant_id, WithdrawParticipant(), metadata=ACTOR)
        else:
            await enrollments.erase(store, program_id, participant_id, metadata=ACTOR)

    for start in range(0, len(chosen), 16):
        await asyncio.gather(*(change(start + n, p) for n, p in enumerate(chosen[start : start + 16])))


def pair_streams(rng: random.Random, round_id: UUID, program_id: UUID, started_at: datetime) -> list[DomainEvent]:
    """One pair's whole stream: proposed, then one of the paths a pair takes."""
    ids: dict[str, Any] = {"pair_id": uuid4(), "program_id": program_id, "junior_id": uuid4(), "senior_id": uuid4()}
    proposed = PairProposed(
        **ids,
        round_id=round_id,
        score=round(rng.uniform(40, 95), 2),
        breakdown=ScoreBreakdown(**dict.fromkeys(ScoreBreakdown.model_fields, round(rng.uniform(0, 14), 4))),
        proposed_at=started_at,
        remind_at=started_at + timedelta(days=3),
        expires_at=started_at + timedelta(days=7),
        rotation_months=3,
    )
    at = started_at + timedelta(hours=rng.randint(1, 48))
    junior = ProposalAccepted(**ids, participant_id=ids["junior_id"], role=Role.JUNIOR)
    senior = ProposalAccepted(**ids, participant_id=ids["senior_id"], role=Role.SENIOR)
    reminder = ProposalReminderDue(**ids, waiting_for=(ids["senior_id"],), expires_at=proposed.expires_at)
    path = rng.random()
    if path < 0.6:
        active = [junior, senior, PairActivated(**ids, activated_at=at, rotation_due_at=at + timedelta(days=90))]
        if rng.random() < 0.1:
            active.append(PairBecameInfeasible(**ids, violations=("language",), detected_at=at + timedelta(days=9)))
        if rng.random() < 0.3:
            active.append(PairEnded(**ids, reason=EndReason.ROTATED, ended_at=at + timedelta(days=90)))
        return [proposed, *active]
    if path < 0.75:
        declined = ProposalDeclined(
            **ids, participant_id=ids["senior_id"], role=Role.SENIOR, reason=DeclineReason.OTHER
        )
        return [proposed, junior, declined]
    if path < 0.9:
        return [proposed, reminder, ProposalExpired(**ids, unanswered=(ids["senior_id"],))]
    left = ProposalWithdrawn(**ids, reason=WithdrawalReason.PARTICIPANT_LEFT, left_participant_id=ids["junior_id"])
    return [proposed, junior, left]


async def pairing_history(store: EventStore, events: int, pairs_per_round: int = 2_000) -> None:
    rng, program_id, appended, week = random.Random(11), uuid4(), 0, 0
    while appended < events:
        round_id, started_at = uuid4(), datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(weeks=week)
        started = PairingRoundStarted(
            round_id=round_id,
            program_id=program_id,
            kind=RoundKind.FULL,
            reference_week=date(2026, 3, 2),
            session_minutes=45,
            settings=ProgramPairingSettings(),
            started_at=started_at,
        )
        completed = PairingRoundCompleted(
            round_id=round_id,
            program_id=program_id,
            kind=RoundKind.FULL,
            pool_size=2 * pairs_per_round,
            matched=pairs_per_round,
            unmatched_count=0,
            unmatched=(),
            total_score=70.0 * pairs_per_round,
            completed_at=started_at + timedelta(seconds=20),
        )
        streams = {f"round-{round_id}": [started, completed]}
        for _ in range(pairs_per_round):
            stream = pair_streams(rng, round_id, program_id, started_at)
            streams[f"pair-{stream[0].pair_id}"] = stream  # type: ignore[attr-defined]
        await store.start_streams({s: [NewEvent(e) for e in stream] for s, stream in streams.items()}, metadata=ACTOR)
        appended += sum(len(stream) for stream in streams.values())
        week += 1


# -- measurements ------------------------------------------------------------------------------


async def read_only(runner: ProjectionRunner, batch: int) -> Measurement:
    """What the projection reads (envelopes, or stored events for `Projection(stored=True)`), applied nowhere."""
    cursor, events = Cursor.origin(), 0
    server = await backends_cpu(runner.store)
    with Timer() as timer:
        while page := await runner.source.read_all(cursor, batch):
            events += len(page)
            last = page[-1]
            assert last.transaction_id is not None
            cursor = Cursor(last.transaction_id, last.position)
    detail = cpu(timer, events, await server_cpu_since(runner.store, server))
    return Measurement("reading only (decoded, applied nowhere)", events, timer.seconds, detail)


async def bare_copy(store: EventStore, projection: Projection, events: int, tables: Sequence[str]) -> Measurement:
    """The read model's rows, written by one COPY per table into identical empty tables."""
    schema, rows, seconds = f"{projection.read_schema}_copy", 0, 0.0
    async with store.pool.acquire() as connection:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        for table in tables:
            await connection.execute(
                f'CREATE TABLE "{schema}".{table} (LIKE {projection.read_schema}.{table} INCLUDING ALL)'
            )
            records = await connection.fetch(f"SELECT * FROM {projection.read_schema}.{table}")
            rows += len(records)
            with Timer() as timer:
                async with connection.transaction():
                    await connection.copy_records_to_table(table, records=records, schema_name=schema)
            seconds += timer.seconds
    return Measurement("ceiling: bare COPY of the final rows", events, seconds, f"{rows:,} rows")


def cpu(timer: Timer, events: int, server: float | None = None) -> str:
    """The bench process's CPU an event, and PostgreSQL's (its backends for this database) if measured."""
    detail = f"process CPU {timer.cpu_seconds / events * 1e6:.1f} µs/event"
    return detail if server is None else f"{detail}; PostgreSQL CPU {server / events * 1e6:.1f} µs/event"


async def backends_cpu(store: EventStore) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the store's database, from /proc
    (the server runs on this machine; a backend /proc does not show is left out)."""
    pids = await store.pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return {pid: seconds for (pid,) in pids if (seconds := process_cpu(pid)) is not None}


def process_cpu(pid: int) -> float | None:
    """A process's CPU seconds so far (user + system), or None if /proc does not show it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: fields 14 and 15


async def server_cpu_since(store: EventStore, before: dict[int, float]) -> float:
    """PostgreSQL's CPU seconds since `before` (backends that ended meanwhile are not counted)."""
    after = await backends_cpu(store)
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def time_applying(runner: ProjectionRunner) -> Timer:
    """A timer adding up the time the runner spends applying batches: the read model's own part,
    without reading and decoding events, the checkpoint, or waiting out transactions open elsewhere."""
    applying, apply_many = Timer(), runner.apply_many

    async def timed(events: Sequence[Any], connection: Any) -> None:
        with Timer() as timer:
            await apply_many(events, connection)
        applying.seconds += timer.seconds

    runner.apply_many = timed  # type: ignore[method-assign]
    return applying


async def measure(
    store: EventStore, dsn: str, service: str, projection: Projection, tables: Sequence[str], args: argparse.Namespace
) -> list[Measurement]:
    events = int(await store.pool.fetchval("SELECT count(*) FROM events"))
    results = []
    runner = ProjectionRunner(projection, store, dsn=dsn, batch_size=args.batch)
    await runner.create_tables()
    progress(f"{projection.name}: catch-up of {events:,} events")
    applying = time_applying(runner)
    freeze_startup_objects()  # as a service process does once composed (and the history written here)
    server = await backends_cpu(store)
    with Timer() as timer:
        await runner.catch_up(timeout=120)  # waits out transactions open elsewhere
    detail = f"batches of {args.batch}; {cpu(timer, events, await server_cpu_since(store, server))}"
    results.append(Measurement("catch-up from empty", events, timer.seconds, detail))
    results.append(Measurement("… of which applying batches (the read model's part)", events, applying.seconds))
    progress(f"   {results[-2].rate:,.0f} events/s (applying: {results[-1].rate:,.0f}); rebuild")
    server = await backends_cpu(store)
    with Timer() as timer:
        rebuilt = await runner.rebuild()
    detail = cpu(timer, rebuilt, await server_cpu_since(store, server))
    results.append(Measurement("rebuild (beside the live model, then swapped)", rebuilt, timer.seconds, detail))
    progress(f"   {results[-1].rate:,.0f} events/s; reading only")
    results.append(await read_only(runner, args.batch))
    results.append(await bare_copy(store, projection, events, tables))
    if args.per_event:
        progress("   the per-event handlers")
        old = ProjectionRunner(per_event(service), store, dsn=dsn, batch_size=args.batch)
        await old.create_tables()
        applying = time_applying(old)
        with Timer() as timer:
            await old.catch_up(timeout=120)
        results.append(Measurement("before: catch-up, one statement per event", events, timer.seconds))
        results.append(Measurement("… of which applying events (the read model's part)", events, applying.seconds))
    return results


async def enrollment(args: argparse.Namespace) -> list[Measurement]:
    async with fresh_database("tandem_bench_projections") as dsn:
        await migrate(dsn, "enrollment", enrollment_app.service.migrations)
        pool = await create_pool(dsn, "enrollment", min_size=2, max_size=12)
        try:
            keys = SubjectKeys("bench master key")
            store = EventStore(pool, schema="enrollment", registry=enrollment_app.registry(), keyring=keys)
            # The live read model's tables exist (an erasure reads the waitlist); it stays idle meanwhile.
            await ProjectionRunner(participants_projection, store, dsn=dsn).create_tables()
            await enrollment_history(store, args.events)
            live = replace(participants_projection, name="bench_participants", read_schema="bench_enrollment_read")
            return await measure(store, dsn, "enrollment", live, ("programs", "participants"), args)
        finally:
            await pool.close()


async def pairing(args: argparse.Namespace) -> list[Measurement]:
    async with fresh_database("tandem_bench_projections") as dsn:
        await migrate(dsn, "pairing", pairing_app.service.migrations)
        pool = await create_pool(dsn, "pairing", min_size=2, max_size=4)
        try:
            store = EventStore(pool, schema="pairing", registry=pairing_app.registry())
            progress(f"appending {args.pairing_events:,} pairing events")
            await pairing_history(store, args.pairing_events, pairs_per_round=min(2_000, args.pairing_events // 8))
            return await measure(store, dsn, "pairing", pairs_projection, ("proposals", "rounds"), args)
        finally:
            await pool.close()


def table(title: str, results: list[Measurement]) -> list[str]:
    ceiling = next(r.rate for r in results if r.name.startswith("ceiling"))
    lines = [f"### {title}", "", "| step | events | seconds | events/s | of the COPY ceiling | notes |"]
    lines.append("|---|---:|---:|---:|---:|---|")
    for r in results:
        lines.append(
            f"| {r.name} | {r.events:,} | {r.seconds:.2f} | {r.rate:,.0f} | {r.rate / ceiling:.0%} | {r.detail} |"
        )
    return [*lines, ""]


async def run(args: argparse.Namespace) -> list[str]:
    load_before = os.getloadavg()
    lines = []
    if args.only in (None, "enrollment"):
        title = f"Enrollment: participants_v2 from {args.events:,} requested events"
        lines += table(title, await enrollment(args))
    if args.only in (None, "pairing"):
        lines += table(f"Pairing: pairs_v2 from {args.pairing_events:,} requested events", await pairing(args))
    load_after = os.getloadavg()
    return [
        f"- {os.cpu_count()} cores; load average (1 min) {load_before[0]:.1f} before the run, "
        f"{load_after[0]:.1f} at its end",
        "",
        *lines,
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, help="enrollment events (default 200000; 10000 with --quick)")
    parser.add_argument("--pairing-events", type=int, help="pairing events (default as --events)")
    service_batch = inspect.signature(ProjectionRunner).parameters["batch_size"].default
    parser.add_argument(
        "--batch", type=int, default=service_batch, help=f"events per batch (the service's default: {service_batch})"
    )
    parser.add_argument("--per-event", action="store_true", help="also time the per-event handlers (slow)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("enrollment", "pairing"), help="one read model only")
    args = parser.parse_args(argv)
    args.events = args.events or (10_000 if args.quick else 200_000)
    args.pairing_events = args.pairing_events or args.events
    print("\n".join(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
