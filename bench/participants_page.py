"""What one page of a program's participants costs PostgreSQL, with and without planner statistics.

    .venv/bin/python bench/participants_page.py                  # 3,000 participants, 300 pages
    .venv/bin/python bench/participants_page.py --people 1000    # a smaller program

The enrollment service runs in this process on a fresh database (and a broker and identity
provider of its own); `--people` enroll over real HTTP, 8 at a time, as `bench/load.py` does; then
`GET /programs/{id}/participants?limit=50` and, for comparison, `GET /programs/{id}` are asked
`--requests` times each, one after another. The figure is the CPU time of the database's backends
per request (psutil, the same backends before and after): unlike latency, it does not depend on
what else the machine is doing.

Twice: first as the read model is after the enrollments, never analyzed (this machine's
PostgreSQL runs without autovacuum, and a read model just rebuilt has no statistics either), then
after `ANALYZE`, as autovacuum would soon leave it. Without statistics the page is planned as a
top-N sort of every participant of the program; with them, as a walk of `participants_listing`
that stops after 51 rows. (On a PostgreSQL with autovacuum, the first round may have them already.)

Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default postgres@127.0.0.1:5432); creates and drops its own
database. Progress goes to stderr; stdout is the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil
from tandem_enrollment.adapters.read_model import READ_SCHEMA
from tandem_enrollment.entrypoints.app import create
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings

ENROLLING_AT_ONCE = 8


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def backends_cpu_seconds(connection: asyncpg.Connection) -> float:
    """CPU time so far of every backend of this database but `connection`'s own."""
    rows = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    total = 0.0
    for row in rows:
        try:
            times = psutil.Process(row["pid"]).cpu_times()
        except psutil.Error:  # a backend that went away
            continue
        total += times.user + times.system
    return total


async def cpu_ms_per_request(
    connection: asyncpg.Connection, http: httpx.AsyncClient, url: str, n: int
) -> tuple[float, float]:
    """PostgreSQL's backends' and this process's (the service and its HTTP client) CPU ms a request."""
    before, here = await backends_cpu_seconds(connection), time.process_time()
    for _ in range(n):
        response = await http.get(url)
        assert response.status_code == 200, response.text
    here = time.process_time() - here
    return (await backends_cpu_seconds(connection) - before) * 1000 / n, here * 1000 / n


async def open_program(http: httpx.AsyncClient) -> str:
    today = date.today()
    body = {
        **DEMO_PROGRAM,
        "name": "Participants page",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=300)).isoformat(),
        "capacity": 100_000,
    }
    created = await http.post("/programs", json=body)
    assert created.status_code == 201, created.text
    program_id: str = created.json()["program_id"]
    opened = await http.post(f"/programs/{program_id}/open")
    assert opened.status_code == 200, opened.text
    return program_id


async def enroll(http: httpx.AsyncClient, program_id: str, people: int) -> None:
    applications = sample_people(people, seed=11, first_employee=100_001)
    for start in range(0, people, ENROLLING_AT_ONCE):
        answers = await asyncio.gather(
            *(
                http.post(f"/programs/{program_id}/enrollments", json=body)
                for body in applications[start : start + ENROLLING_AT_ONCE]
            )
        )
        refused = [answer.text for answer in answers if answer.status_code != 201]
        assert not refused, refused[0]


async def run(people: int, requests: int) -> list[str]:
    rows = []
    state = Path(tempfile.mkdtemp(prefix="participants-page-"))
    async with fresh_database("tandem_bench_participants_page") as dsn:
        with DevBroker() as broker, DevIdentity(state_dir=state, log_file=state / "provider.log") as identity:
            identity.add_account("hr-admin", roles=["program_admin"], employee_id="HR-0001")
            settings = ServiceSettings(
                service_name="enrollment",
                environment="test",
                database_url=dsn,
                kafka_bootstrap_servers=broker.bootstrap_servers,
                kafka_topic_partitions=2,
                log_format="text",
                personal_data_master_key="bench master key",
                **signed_in_settings(identity),
            )
            headers = await TokenBook(identity).headers("hr-admin")
            async with serving(create(settings)) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:

                async def ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await eventually(ready, timeout=60)
                http.headers.update(headers)
                program_id = await open_program(http)
                say(f"enrolling {people:,} people over HTTP")
                await enroll(http, program_id, people)
                connection = await asyncpg.connect(dsn)
                try:

                    async def projected() -> bool:
                        count = await connection.fetchval(
                            f"SELECT count(*) FROM {READ_SCHEMA}.participants WHERE program_id = $1",
                            program_id,
                        )
                        return bool(count >= people)

                    await eventually(projected, timeout=120)
                    pages = {
                        "participants?limit=50": f"/programs/{program_id}/participants?limit=50",
                        "program": f"/programs/{program_id}",
                    }
                    for statistics in ("none (never analyzed)", "after ANALYZE"):
                        if statistics == "after ANALYZE":
                            await connection.execute("ANALYZE")
                        load = os.getloadavg()[0]
                        figures = {
                            name: await cpu_ms_per_request(connection, http, page, requests)
                            for name, page in pages.items()
                        }
                        participants_page, program_page = figures["participants?limit=50"], figures["program"]
                        row = (
                            f"| {people:,} | {statistics} | {participants_page[0]:.1f} | {program_page[0]:.1f} | "
                            f"{participants_page[1]:.1f} | {program_page[1]:.1f} | "
                            f"{load:.1f} → {os.getloadavg()[0]:.1f} |"
                        )
                        say(row)
                        rows.append(row)
                finally:
                    await connection.close()
    return [
        f"CPU ms per request, {requests} requests of each page, one after another: PostgreSQL's backends, and",
        "this process (the service and its HTTP client):",
        "",
        "| participants | planner statistics | participants page, PostgreSQL | program page, PostgreSQL |"
        " participants page, service + client | program page, service + client | load average (1 min) |",
        "|---:|---|---:|---:|---:|---:|---|",
        *rows,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=3_000, help="participants enrolled over HTTP (default 3000)")
    parser.add_argument("--requests", type=int, default=300, help="requests of each page (default 300)")
    arguments = parser.parse_args()
    started = time.perf_counter()
    lines = asyncio.run(run(arguments.people, arguments.requests))
    say(f"done in {time.perf_counter() - started:.0f} s")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
