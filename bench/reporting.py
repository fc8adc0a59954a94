"""Reporting: rebuild rate of the read model from retained events, and the program overview's latency.

    .venv/bin/python bench/reporting.py                    # 20,000 participants (about 150,000 events)
    .venv/bin/python bench/reporting.py --participants 2000 --quick

One program of N participants with the whole life the four services give it (enrollment, approval,
proposals and pairs, sessions scheduled and held, feedback, assessments, surveys), written straight
into reporting's inbox as its retaining subscriptions keep envelopes (COPY, in commit order), then:
the `programs` projection rebuilt from the origin (events/s), and the program overview, the impact
report and a filtered overview each asked 200 times in process (p50/p99 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventRegistry
from tandem_kernel.inbox import InboxSource
from tandem_kernel.privacy import SEALED
from tandem_kernel.projections import ProjectionRunner
from tandem_kernel.runtime import freeze_startup_objects
from tandem_kernel.store import EventStore
from tandem_kernel.testing import fresh_database
from tandem_reporting.adapters import queries
from tandem_reporting.adapters.projection import programs_projection
from tandem_reporting.adapters.tables import READ_SCHEMA
from tandem_reporting.application import reports, subscriptions
from tandem_reporting.domain.filters import Filters

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
# Bytes of a sealed field: format byte, nonce, ciphertext, tag (see tandem_kernel.privacy).
PERSONAL_SIZES = {"display_name": 1 + 12 + 14 + 16, "email": 1 + 12 + 30 + 16, "personal_goals": 1 + 12 + 60 + 16}
DEPARTMENTS = [f"Department {n}" for n in range(12)]
SITES = {"Lyon": "FR", "Paris": "FR", "Madrid": "ES", "Berlin": "DE", "Milan": "IT"}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def history(participants: int, seed: int = 1) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(consumer, event type, stream id, payload), in an order each stream keeps."""
    rng = random.Random(seed)
    program = str(uuid.uuid4())
    rows: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "reporting.enrollment",
            "enrollment.ProgramCreated",
            f"program-{program}",
            {"program_id": program, "name": "Bench"},
        )
    ]
    juniors, seniors = [], []
    for number in range(participants):
        person = str(uuid.uuid4())
        role = "junior" if number % 2 == 0 else "senior"
        site = rng.choice(list(SITES))
        base = {"participant_id": person, "program_id": program, "employee_id": f"B{number}", "role": role}
        enrolled = {
            **base,
            "department": rng.choice(DEPARTMENTS),
            "site": site,
            "country": SITES[site],
            "job_level": rng.randint(1, 12),
            "enrolled_at": (START + timedelta(minutes=number)).isoformat(),
            # As enrollment publishes them: sealed with the person's key, which reporting never has.
            **{name: {SEALED: base64.b64encode(rng.randbytes(size)).decode()} for name, size in PERSONAL_SIZES.items()},
        }
        rows.append(("reporting.enrollment", "enrollment.ParticipantEnrolled", f"participant-{person}", enrolled))
        if rng.random() < 0.9:
            rows.append(("reporting.enrollment", "enrollment.ParticipantApproved", f"participant-{person}", base))
            (juniors if role == "junior" else seniors).append(person)
    for junior, senior in zip(juniors, seniors, strict=False):
        pair = {"pair_id": str(uuid.uuid4()), "program_id": program, "junior_id": junior, "senior_id": senior}
        stream = f"pair-{pair['pair_id']}"
        rows.append(
            (
                "reporting.pairing",
                "pairing.PairProposed",
                stream,
                {**pair, "score": rng.random(), "proposed_at": START.isoformat()},
            )
        )
        if rng.random() < 0.8:
            rows.append(
                ("reporting.pairing", "pairing.PairActivated", stream, {**pair, "activated_at": START.isoformat()})
            )
            for sequence in range(3):
                session = {**pair, "session_id": str(uuid.uuid4())}
                at = (START + timedelta(days=30 + 14 * sequence)).isoformat()
                rows.append(
                    (
                        "reporting.sessions",
                        "sessions.SessionScheduled",
                        f"session-{session['session_id']}",
                        {**session, "starts_at": at},
                    )
                )
                if rng.random() < 0.7:
                    rows.append(
                        (
                            "reporting.sessions",
                            "sessions.SessionHeld",
                            f"session-{session['session_id']}",
                            {**session, "held_at": at},
                        )
                    )
                    feedback = {"session_id": session["session_id"], "pair_id": pair["pair_id"], "program_id": program}
                    feedback |= {
                        "participant_id": junior,
                        "usefulness": rng.randint(1, 5),
                        "trust": rng.randint(1, 5),
                        "at": at,
                    }
                    rows.append(
                        (
                            "reporting.evaluation",
                            "evaluation.SessionFeedbackGiven",
                            f"feedback-{uuid.uuid4()}",
                            feedback,
                        )
                    )
            for person, role in ((junior, "junior"), (senior, "senior")):
                ratings = [{"skill": skill, "level": rng.randint(1, 5)} for skill in ("ai", "network", "negotiation")]
                for phase in ("baseline", "end"):
                    assessed = {
                        "program_id": program,
                        "participant_id": person,
                        "role": role,
                        "phase": phase,
                        "by": "self",
                    }
                    assessed |= {"ratings": ratings, "assessed_at": START.isoformat()}
                    rows.append(("reporting.evaluation", "evaluation.SkillsAssessed", f"evaluation-{person}", assessed))
                survey = {"program_id": program, "participant_id": person, "satisfaction": rng.randint(1, 5)}
                survey |= {"recommendation": rng.randint(0, 10), "at": START.isoformat()}
                rows.append(("reporting.evaluation", "evaluation.SurveyAnswered", f"evaluation-{person}", survey))
    return rows


async def fill_inbox(pool: Any, rows: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """The rows as the retaining subscriptions keep them: one inbox row per envelope, COPY'd in chunks."""
    versions: dict[str, int] = {}
    records = []
    for position, (consumer, event_type, stream, payload) in enumerate(rows, start=1):
        versions[stream] = versions.get(stream, 0) + 1
        event_id = uuid.uuid4()
        envelope = {
            "event_id": str(event_id),
            "event_type": event_type,
            "event_version": 1,
            "stream_id": stream,
            "stream_version": versions[stream],
            "position": position,
            "occurred_at": START.isoformat(),
            "payload": payload,
        }
        topic = "tandem." + event_type.partition(".")[0] + ".v1"
        records.append((consumer, event_id, topic, event_type, json.dumps(envelope)))
    for start in range(0, len(records), 50_000):
        async with pool.acquire() as connection:
            await connection.copy_records_to_table(
                "inbox",
                records=records[start : start + 50_000],
                columns=["consumer", "event_id", "topic", "event_type", "envelope"],
                schema_name="reporting",
            )


async def server_cpu(pool: Any) -> dict[str, dict[int, float]]:
    """CPU seconds so far of this database's backends and of the server's WAL writer, checkpointer and
    background writer (those serve every database), by process, from /proc (a server on this machine)."""
    rows = await pool.fetch(
        "SELECT pid, CASE WHEN datname = current_database() THEN 'backends' ELSE 'background' END AS kind"
        " FROM pg_stat_activity WHERE datname = current_database()"
        " OR backend_type IN ('walwriter', 'checkpointer', 'background writer')"
    )
    seconds: dict[str, dict[int, float]] = {"backends": {}, "background": {}}
    for row in rows:
        if (cpu := process_cpu(row["pid"])) is not None:
            seconds[row["kind"]][row["pid"]] = cpu
    return seconds


def process_cpu(pid: int) -> float | None:
    """A process's CPU seconds so far (user and system), None if it is not on this machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def answer(pool: Any, produce: Any) -> Any:
    """One report as the API answers it: in its own read-only snapshot (`queries.reading`)."""

    async def call() -> None:
        async with queries.reading(pool) as db:
            await produce(db)

    return call


async def timed(label: str, call: Any, times: int) -> str:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    p50, p99 = percentiles(samples)
    return f"| {label} | {times} | {p50:.1f} | {p99:.1f} |"


async def run(args: argparse.Namespace) -> str:
    rows = history(args.participants)
    log(f"{args.participants} participants: {len(rows)} events")
    async with fresh_database("tandem_bench_reporting") as dsn:
        await migrate(dsn, "reporting")
        pool = await create_pool(dsn, "reporting", min_size=2, max_size=4)
        try:
            await fill_inbox(pool, rows)
            registry = EventRegistry()
            for subscription in subscriptions():
                registry = registry.merge(subscription.registry)
            store = EventStore(pool, schema="reporting", registry=EventRegistry())
            source = InboxSource(pool, schema="reporting", consumers=programs_projection.consumes, registry=registry)
            runner = ProjectionRunner(programs_projection, store, dsn=dsn, source=source, batch_size=2000)
            await runner.create_tables()
            # As autovacuum would soon after a bulk load: without statistics the inbox's commit-order
            # read is planned as a sort of every retained row, at each batch (13x slower at 37,000).
            await pool.execute("ANALYZE reporting.inbox")
            freeze_startup_objects()  # as a service process does once composed (and the history here)
            load = os.getloadavg()[0]
            server = await server_cpu(pool)
            started, cpu = time.perf_counter(), time.process_time()
            applied = await runner.rebuild()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            server_after = await server_cpu(pool)
            backends, background = (spent(server[kind], server_after[kind]) for kind in ("backends", "background"))
            await pool.execute("ANALYZE")  # as autovacuum would, soon after a rebuild
            program = await pool.fetchval(f"SELECT program_id FROM {READ_SCHEMA}.programs")
            times = 20 if args.quick else 200
            lines = [
                f"- {args.participants:,} participants, {len(rows):,} events in the inbox;"
                f" load average (1 min) {load:.1f} before the rebuild, {os.getloadavg()[0]:.1f} after the reports",
                "",
                "| # | benchmark | events | seconds | events/s | process CPU µs/event"
                " | PostgreSQL backends CPU µs/event | WAL writer, checkpointer, bgwriter CPU µs/event |",
                "|---|---|---:|---:|---:|---:|---:|---:|",
                f"| 1 | rebuild `reporting.{programs_projection.name}` from the retained inbox | {applied:,} |"
                f" {seconds:.2f} | {applied / seconds:,.0f} | {cpu / applied * 1e6:.1f}"
                f" | {backends / applied * 1e6:.1f} | {background / applied * 1e6:.1f} |",
                "",
                "| report | calls | p50 ms | p99 ms |",
                "|---|---:|---:|---:|",
                await timed(
                    "program overview", answer(pool, lambda db: reports.overview(db, program, Filters())), times
                ),
                await timed(
                    "overview, one department (counted on write)",
                    answer(pool, lambda db: reports.overview(db, program, Filters(department="Department 3"))),
                    times,
                ),
                await timed(
                    "overview, department and role filters (counted from the facts)",
                    answer(
                        pool,
                        lambda db: reports.overview(db, program, Filters(department="Department 3", role="junior")),
                    ),
                    times,
                ),
                await timed(
                    "impact (small groups suppressed)",
                    answer(pool, lambda db: reports.impact(db, program, Filters())),
                    times,
                ),
            ]
            return "\n".join(lines)
        finally:
            await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="20 calls per report instead of 200")
    print(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
