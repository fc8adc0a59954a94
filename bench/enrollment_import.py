"""The enrollment import benchmark: a generated CSV of 20,000 people through the application layer.

    .venv/bin/python bench/enrollment_import.py                 # 20,000 rows
    .venv/bin/python bench/enrollment_import.py --rows 2000     # a quick run
    .venv/bin/python bench/enrollment_import.py --capacity 5000 # a capacity-limited program

Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default postgres@127.0.0.1:5432); creates and drops its own
database. Measures parsing, the import (1 row in 50 invalid; personal fields sealed per person;
a chunk of 500 rows per statement, see application.bulk), the read model catching up, and
importing the same file again (all duplicates).
Progress goes to stderr; stdout is the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from uuid import UUID

from tandem_enrollment.adapters.read_model import participants_projection
from tandem_enrollment.application import FileFormat, import_rows, parse_file, programs
from tandem_enrollment.domain import CreateProgram, ImportedRow
from tandem_enrollment.entrypoints.app import registry, service
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, as_csv, sample_people
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventMetadata
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import ProjectionRunner
from tandem_kernel.store import EventStore
from tandem_kernel.testing import fresh_database

SCHEMA = "enrollment"


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def generated_file(rows: int) -> bytes:
    people = sample_people(rows, seed=20_000, first_employee=100_000)
    for person in people[::50]:
        person["email"] = "not-an-address"  # real files have mistakes; they must not slow the rest
    return as_csv(people).encode()


async def timed_import(
    store: EventStore, program_id: UUID, rows: list[ImportedRow], concurrency: int
) -> tuple[float, str]:
    started = time.perf_counter()
    totals = await import_rows(store, program_id, rows, metadata=EventMetadata(actor="bench"), concurrency=concurrency)
    seconds = time.perf_counter() - started
    return seconds, f"{totals.enrolled:,} enrolled, {totals.duplicates:,} duplicates, {totals.rejected:,} rejected"


async def run(args: argparse.Namespace) -> list[str]:
    content = generated_file(args.rows)
    async with fresh_database("tandem_bench") as dsn:
        await migrate(dsn, SCHEMA, service.migrations)
        pool = await create_pool(dsn, SCHEMA, min_size=args.concurrency, max_size=args.concurrency + 2)
        try:
            store = EventStore(pool, schema=SCHEMA, registry=registry(), keyring=SubjectKeys("bench master key"))
            terms = CreateProgram.model_validate({**DEMO_PROGRAM, "capacity": args.capacity})
            created = await programs.create(store, terms, metadata=EventMetadata(actor="bench"))
            assert created.state is not None
            program_id = created.state.program_id
            await programs.open_(store, program_id, metadata=EventMetadata(actor="bench"))

            progress(f"parsing {args.rows:,} rows ({len(content) / 2**20:.1f} MiB)")
            started = time.perf_counter()
            rows = await asyncio.to_thread(parse_file, content, FileFormat.CSV, program_id)
            parse_seconds = time.perf_counter() - started

            runner = ProjectionRunner(participants_projection, store, dsn=dsn, batch_size=1000)
            await runner.create_tables()
            progress("importing")
            import_seconds, outcome = await timed_import(store, program_id, rows, args.concurrency)

            # In the service the read model follows all along; here it catches up in one go.
            progress("catching up the read model")
            started = time.perf_counter()
            # Gap-safe reading waits out transactions running elsewhere on the server: until level.
            while await runner.behind():
                await runner.catch_up()
                await asyncio.sleep(0.01)
            projection_seconds = time.perf_counter() - started
            events = await pool.fetchval("SELECT count(*) FROM events")
            progress("importing the same file again")
            again_seconds, again = await timed_import(store, program_id, rows, args.concurrency)
        finally:
            await pool.close()

    total = parse_seconds + import_seconds
    capacity = f"capacity {args.capacity:,}" if args.capacity else "no capacity limit"
    rate = args.rows / total
    print(f"[bench] {args.rows:,} rows imported in {total:.1f} s: {rate:,.0f} rows/s", file=sys.stderr)
    return [
        f"### Enrollment import: {args.rows:,} CSV rows ({capacity}, auto-approve)",
        "",
        "| step | seconds | rows/s | detail |",
        "|---|---:|---:|---|",
        f"| parse + validate | {parse_seconds:.2f} | {args.rows / parse_seconds:,.0f} | pydantic, in a thread |",
        f"| import | {import_seconds:.2f} | {args.rows / import_seconds:,.0f} | {outcome} |",
        f"| **parse + import** | **{total:.2f}** | **{rate:,.0f}** | what a user waits for |",
        f"| read model catch-up | {projection_seconds:.2f} | {events / projection_seconds:,.0f} events/s | "
        f"{events:,} events, personal fields opened per subject |",
        f"| same file again | {again_seconds:.2f} | {args.rows / again_seconds:,.0f} | {again} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--capacity", type=int, default=None, help="a capacity-limited program (appends serialise)")
    lines = asyncio.run(run(parser.parse_args()))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
