"""The pairing round benchmark: a whole program's round through the application layer, on PostgreSQL.

    .venv/bin/python bench/pairing_round.py                    # 2,000 and 40,000 participants
    .venv/bin/python bench/pairing_round.py --sizes 2000       # a quick run

Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default postgres@127.0.0.1:5432); each size runs in a fresh
process (so peak RSS is that size's alone) with a database of its own, dropped afterwards. Setup,
not timed as part of the round: the program and its approved participants (the synthetic pools of
`pairing_matching.py`, half juniors, half seniors) bulk-inserted into the pool table, and their
previous partners (30% of juniors) into the pairs ledger. Then the round, end to end, as the service
runs it (`rounds.request` + `rounds.run`): the pool loaded from PostgreSQL, candidates scored and the
optimum computed, every proposal's breakdown built, and the proposals appended as events (one new
stream each, in one statement) with the ledger and the round's completion. Targets: 40,000 people
under 60 s and 2 GB, 2,000 under 3 s. Progress goes to stderr; stdout is the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from pairing_matching import generate_pool
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore
from tandem_kernel.testing import fresh_database
from tandem_pairing.application import rounds
from tandem_pairing.domain import Candidate
from tandem_pairing.domain.events import PairingRoundCompleted, RoundKind
from tandem_pairing.entrypoints.app import registry, service

SCHEMA = "pairing"
TARGETS = {2000: 3.0, 40000: 60.0}


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def profile_of(candidate: Candidate) -> str:
    """The candidate as enrollment's ParticipantEnrolled would have filled the pool table."""
    return json.dumps(
        {
            "department": candidate.department,
            "site": candidate.site,
            "time_zone": candidate.time_zone,
            "manager_employee_id": candidate.manager_employee_id,
            "languages": sorted(candidate.languages),
            "skills_offered": [{"skill": s, "level": level} for s, level in candidate.skills_offered.items()],
            "skills_wanted": [{"skill": s, "level": level} for s, level in candidate.skills_wanted.items()],
            "objectives": sorted(candidate.objectives),
            "availability": [
                {"weekday": w.weekday, "start": w.start.isoformat(), "end": w.end.isoformat()}
                for w in candidate.availability
            ],
            "meeting_preference": candidate.meeting_preference.value,
        }
    )


async def load_program(store: EventStore, size: int, seed: int) -> UUID:
    """Bulk-insert a program, its approved participants and their previous partners."""
    people, previous = generate_pool(size, seed)
    program_id, long_ago = uuid4(), datetime(2025, 1, 6, tzinfo=UTC)
    async with store.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "INSERT INTO pool_programs (program_id, session_minutes, rotation_months, proposal_expiry_days)"
            " VALUES ($1, 45, 3, 7)",
            program_id,
        )
        await connection.copy_records_to_table(
            "pool_participants",
            columns=["participant_id", "program_id", "employee_id", "role", "status", "profile"],
            records=[
                (c.participant_id, program_id, c.employee_id, c.role.value, "approved", profile_of(c)) for c in people
            ],
        )
        ledger_columns = ["pair_id", "program_id", "round_id", "junior_id", "senior_id", "status", "reminded"]
        await connection.copy_records_to_table(
            "pairs",
            columns=[*ledger_columns, "remind_at", "expires_at"],
            records=[(uuid4(), program_id, uuid4(), j, s, "ended", True, long_ago, long_ago) for j, s in previous],
        )
        await connection.execute("ANALYZE pool_participants; ANALYZE pairs")
    return program_id


async def measure(size: int, seed: int) -> dict[str, Any]:
    async with fresh_database("tandem_bench") as dsn:
        await migrate(dsn, SCHEMA, service.migrations)
        pool = await create_pool(dsn, SCHEMA)
        try:
            store = EventStore(pool, schema=SCHEMA, registry=registry())
            progress(f"{size:,} participants: generating and bulk-inserting the pool")
            started = time.perf_counter()
            program_id = await load_program(store, size, seed)
            setup = time.perf_counter() - started

            phases: dict[str, float] = {}
            started = time.perf_counter()
            round_id, _ = await rounds.request(
                store, program_id, RoundKind.FULL, now=rounds.utc_now(), metadata=EventMetadata(actor="bench")
            )
            phases["round requested"] = time.perf_counter() - started

            def report(phase: str, seconds: float) -> None:
                phases[phase] = seconds
                progress(f"  {phase}: {seconds:.2f}s")

            outcome = await rounds.run(store, round_id, report=report)
            total = time.perf_counter() - started
            assert isinstance(outcome, PairingRoundCompleted), outcome
            streams = await pool.fetchval("SELECT count(*) FROM events WHERE event_type = 'pairing.PairProposed'")
            assert streams == outcome.matched
        finally:
            await pool.close()
    return {
        "size": size,
        "setup_s": setup,
        "phases": phases,
        "total_s": total,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "matched": outcome.matched,
        "unmatched": outcome.unmatched_count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 40000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(measure(args.one, args.seed))))
        return
    rows = []
    for size in args.sizes:
        command = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)]
        rows.append(json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout))
    names = list(rows[0]["phases"])
    print("| participants | " + " | ".join(names) + " | round total | target | peak RSS | pairs | alone | setup |")
    print("|" + "---:|" * (len(names) + 7))
    for row in rows:
        target = TARGETS.get(row["size"])
        verdict = f"< {target:.0f} s {'✓' if row['total_s'] < target else '✗'}" if target else "-"
        phases = " | ".join(f"{row['phases'].get(name, 0.0):.2f} s" for name in names)
        print(
            f"| {row['size']:,} | {phases} | {row['total_s']:.2f} s | {verdict} | {row['peak_mb']:.0f} MB "
            f"| {row['matched']:,} | {row['unmatched']:,} | {row['setup_s']:.1f} s |"
        )


if __name__ == "__main__":
    main()
