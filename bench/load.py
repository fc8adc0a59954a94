"""Load: how fast Tandem answers where people and integrations wait, at a rising request rate.

    .venv/bin/python bench/load.py             # make load: every service one process, as `make run` starts them
    .venv/bin/python bench/load.py --quick     # a smoke run

Open-loop (requests leave at the rate asked, whatever the answers: a slow service cannot slow the
load down and hide its own latency), over real HTTP on loopback with real tokens, from this process
while the services run in theirs. For each endpoint, steps of `--step-seconds` at a rising rate
until p99 passes 250 ms (or the top rate): throughput, p50/p95/p99, errors. Then the end-to-end
latency at 200 enrollments/s: from the 2xx of `POST .../enrollments` to pairing having applied the
approval — its inbox row, committed with the pool change, notified to this process at that commit
(`CommitWatch`) — and, of that way, the relay's part (the approval seen on the broker by a consumer
of this process); and from the same 2xx to reporting's read model counting the participant approved.

Progress goes to stderr; stdout is the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import psutil
from _http import Answer, LeanClient
from aiokafka import AIOKafkaConsumer
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.devbroker import DevBroker

from ops.chaos.platform import Platform

P99_LIMIT_MS = 250.0
RATES = (25, 50, 100, 200, 400, 800)
LOGS = Path(".tandem/load").resolve()


@dataclass
class Step:
    endpoint: str
    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # by process: the service, PostgreSQL, this one

    def cpu_ms_per_request(self) -> str:
        answered = len(self.latencies_ms) + self.errors
        if not answered or not self.cpu_seconds:
            return ""
        return " · ".join(f"{name} {seconds * 1000 / answered:.1f}" for name, seconds in self.cpu_seconds.items())

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> str:
        throughput = len(self.latencies_ms) / self.seconds if self.seconds else 0.0
        return (
            f"| {self.endpoint} | {self.rate:.0f} | {throughput:.0f} | {self.percentile(0.5):.1f} | "
            f"{self.percentile(0.95):.1f} | {self.percentile(0.99):.1f} | {self.errors}"
            + (f" ({', '.join(f'{k} x{v}' for k, v in self.error_statuses.items())})" if self.errors else "")
            + f" | {self.cpu_ms_per_request()} |"
        )


class CpuMeter:
    """CPU time spent while a step runs: by the services named, by PostgreSQL (the services' backends,
    or with `whole_platform` every PostgreSQL process), by the broker and by this load generator. Per
    request, a figure that does not depend on what else the machine is doing (unlike latency), so it
    tells what a quiet machine could take — and, for the whole platform, where an enrollment's CPU goes."""

    def __init__(
        self,
        platform: Platform,
        services: list[str],
        *,
        whole_platform: bool = False,
        own_backends: tuple[int, ...] = (),
    ) -> None:
        self.platform, self.services, self.whole_platform = platform, services, whole_platform
        self.own_backends = set(own_backends)  # this process's own PostgreSQL backends: its watch, not the platform
        self.processes: dict[str, list[psutil.Process]] = {}

    async def __aenter__(self) -> CpuMeter:
        self.processes = {
            service: [psutil.Process(replica.pid) for replica in self.platform.replicas[service]]
            for service in self.services
        }
        if self.whole_platform:
            self.processes["broker"] = [psutil.Process(self.platform.broker.pid)]
            postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
            self.processes["PostgreSQL"] = [p for p in postgres if p.pid not in self.own_backends]
            self.processes["the bench's PostgreSQL"] = [p for p in postgres if p.pid in self.own_backends]
        else:
            self.processes["PostgreSQL"] = await self._backends(self.services[0])
        self.processes["load generator"] = [psutil.Process()]
        self.started = self._times()
        return self

    async def _backends(self, service: str) -> list[psutil.Process]:
        connection = await self.platform.connect(service)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await connection.close()
        return [psutil.Process(row["pid"]) for row in rows]

    async def __aexit__(self, *_: object) -> None:
        self.spent = {name: self._times()[name] - self.started[name] for name in self.started}

    def _times(self) -> dict[str, float]:
        def cpu(process: psutil.Process) -> float:
            try:
                times = process.cpu_times()
            except psutil.Error:  # a backend that went away
                return 0.0
            return float(times.user + times.system)

        return {name: sum(cpu(process) for process in processes) for name, processes in self.processes.items()}


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def open_loop(rate: float, seconds: float, request: Callable[[], Awaitable[Answer]], step: Step) -> None:
    """Fire `request` `rate` times a second for `seconds`, each timed from when it was due."""
    tasks: list[asyncio.Task[None]] = []

    async def one(due: float) -> None:
        try:
            response = await request()
            ok, status = response.is_success, str(response.status_code)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            ok, status = False, type(error).__name__
        if ok:
            step.latencies_ms.append((time.perf_counter() - due) * 1000)
        else:
            step.errors += 1
            step.error_statuses[status] += 1

    started = time.perf_counter()
    count = int(rate * seconds)
    for n in range(count):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    step.seconds = time.perf_counter() - started


class Bench:
    def __init__(self, platform: Platform, step_seconds: float, people: int) -> None:
        self.platform, self.step_seconds = platform, step_seconds
        self.http = LeanClient(platform.urls("enrollment")[0], connections=400)
        # Enrollments go to every enrollment replica in turn (a Service's load balancing, roughly).
        self.clients = [self.http, *(LeanClient(url, connections=400) for url in platform.urls("enrollment")[1:])]
        self.enrolling = itertools.cycle(self.clients)
        # Built before the first step (a person costs ~0.1 ms to make): as many as the steps can ask for.
        self.people = iter(sample_people(people, seed=11, first_employee=100_001))
        self.program_id = ""
        self.hr: dict[str, str] = {}
        self.enrolled_at: dict[str, float] = {}  # participant id -> wall-clock time of the 2xx

    async def open_program(self) -> None:
        self.hr = await self.platform.tokens.headers("hr-admin")
        today = date.today()
        body = {
            **DEMO_PROGRAM,
            "name": "Load",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=300)).isoformat(),
            "capacity": 100_000,
        }
        created = await self.http.request("POST", "/programs", body=body, headers=self.hr)
        assert created.is_success, created.content
        self.program_id = created.json()["program_id"]
        opened = await self.http.request("POST", f"/programs/{self.program_id}/open", headers=self.hr)
        assert opened.is_success, opened.content
        # The reads below come from the read model: wait until it has the program.
        deadline = time.monotonic() + 60
        while (await self.overview()).status_code == 404 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def enroll(self) -> Answer:
        response = await next(self.enrolling).request(
            "POST", f"/programs/{self.program_id}/enrollments", body=next(self.people), headers=self.hr
        )
        if response.status_code == 201:
            self.enrolled_at[response.json()["participant_id"]] = time.time()
        return response

    async def participants(self) -> Answer:
        return await self.http.request(
            "GET", f"/programs/{self.program_id}/participants", params={"limit": 50}, headers=self.hr
        )

    async def overview(self) -> Answer:
        return await self.http.request("GET", f"/programs/{self.program_id}", headers=self.hr)

    async def rising(
        self, endpoint: str, request: Callable[[], Awaitable[Answer]], rates: tuple[int, ...]
    ) -> list[Step]:
        steps = []
        for rate in rates:
            step = Step(endpoint, rate)
            async with CpuMeter(self.platform, ["enrollment"]) as meter:
                await open_loop(rate, self.step_seconds, request, step)
            step.cpu_seconds = meter.spent
            steps.append(step)
            say(step.row())
            if step.percentile(0.99) > P99_LIMIT_MS or step.errors:
                break
        return steps

    async def end_to_end(self, rate: float) -> EndToEnd:
        """Enrollments at `rate`; per enrollment, 2xx → its approval readable in pairing's database
        (committed with the pool change) and in reporting's read model, and 2xx → the approval on
        the broker (the relay's part)."""
        self.enrolled_at.clear()
        step = Step("enroll (end to end)", rate)
        tap = BrokerTap(self.platform.broker, "tandem.enrollment.v1", "enrollment.ParticipantApproved")
        await tap.start()
        source = await self.platform.connect("enrollment")
        pairing = await CommitWatch.start(await self.platform.connect("pairing"), CommitWatch.PAIRING)
        reporting = await CommitWatch.start(await self.platform.connect("reporting"), CommitWatch.REPORTING)
        retained = await CommitWatch.start(await self.platform.connect("reporting"), CommitWatch.REPORTING_INBOX)
        try:
            watches = (pairing, reporting, retained)
            own = (source.get_server_pid(), *(watch.connection.get_server_pid() for watch in watches))
            async with CpuMeter(self.platform, self.platform.services, whole_platform=True, own_backends=own) as meter:
                await open_loop(rate, self.step_seconds, self.enroll, step)
                approvals = await self._settled(source, pairing, reporting, timeout=60)
            step.cpu_seconds = meter.spent
        finally:
            for watch in watches:
                await watch.stop()
            await tap.stop()
            await source.close()

        def since_2xx(seen: dict[UUID, float]) -> list[float]:
            at = {approvals[event_id]: when for event_id, when in seen.items() if event_id in approvals}
            return sorted(max(0.0, (at[p] - sent) * 1000) for p, sent in self.enrolled_at.items() if p in at)

        delays = since_2xx(pairing.readable)
        in_reporting = sorted(
            max(0.0, (reporting.readable[UUID(p)] - sent) * 1000)
            for p, sent in self.enrolled_at.items()
            if UUID(p) in reporting.readable
        )
        for where, seen in (("pairing", delays), ("reporting", in_reporting)):
            if missing := len(self.enrolled_at) - len(seen):
                say(f"{missing} enrollments not readable in {where} within 60 s")
        return EndToEnd(
            step, delays, since_2xx(tap.seen), since_2xx(tap.handed), in_reporting, since_2xx(retained.readable)
        )

    async def _settled(
        self, source: asyncpg.Connection, pairing: CommitWatch, reporting: CommitWatch, *, timeout: float
    ) -> dict[UUID, str]:
        """Once the load has stopped: the approvals of this step's enrollments (event id → participant),
        when pairing and reporting have them all or `timeout` has passed."""
        deadline = time.monotonic() + timeout
        while True:
            approvals: dict[UUID, str] = {
                row["event_id"]: row["participant"]
                for row in await source.fetch(
                    "SELECT event_id, payload->>'participant_id' AS participant FROM events"
                    " WHERE event_type = 'enrollment.ParticipantApproved'"
                    " AND payload->>'participant_id' = ANY($1::text[])",
                    list(self.enrolled_at),
                )
            }
            in_pairing = len(approvals.keys() & pairing.readable.keys())
            in_reporting = len({UUID(p) for p in approvals.values()} & reporting.readable.keys())
            if in_pairing == in_reporting == len(approvals) == len(self.enrolled_at) or time.monotonic() > deadline:
                return approvals
            await asyncio.sleep(0.2)


class CommitWatch:
    """When each row became readable in another service's database: a trigger the bench adds for the
    step notifies each key the service writes, and PostgreSQL delivers it at the commit of the batch
    that wrote it — neither early nor late by a polling interval.

    `PAIRING`: the approval's event id, as pairing.pool takes it into its inbox (committed with the
    pool change). `REPORTING`: the participant's id, as reporting's projection writes them approved
    into its read model (`participants`, what its reports count). The row's own timestamps would not
    do: `handled_at` is its transaction's start, before the batch is applied — too early.

    It replaced a look every 10 ms that probed pairing's inbox for every approval still missing:
    under a backlog of a thousand that look cost a few milliseconds, a hundred times a second — the
    bench's own PostgreSQL time grew to as much as the platform's (1.3 to 3.4 ms an enrollment) on the
    machine it was measuring, just when the platform fell behind. A notification costs the watched
    batch a trigger call per row."""

    PAIRING = ("tandem_bench_pairing", "inbox", "NEW.consumer = 'pairing.pool'", "NEW.event_id")
    REPORTING = ("tandem_bench_reporting", "reporting_read_v2.participants", "NEW.approved", "NEW.participant_id")
    REPORTING_INBOX = ("tandem_bench_reporting_inbox", "inbox", "NEW.consumer = 'reporting.enrollment'", "NEW.event_id")

    def __init__(self, connection: asyncpg.Connection, channel: str, table: str) -> None:
        self.connection, self.channel, self.table = connection, channel, table
        self.readable: dict[UUID, float] = {}

    @classmethod
    async def start(cls, connection: asyncpg.Connection, watched: tuple[str, str, str, str]) -> CommitWatch:
        channel, table, condition, key = watched
        watch = cls(connection, channel, table)
        await connection.add_listener(channel, watch._heard)
        await connection.execute(
            f"""
            CREATE OR REPLACE FUNCTION {channel}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('{channel}', {key}::text); RETURN NULL; END $$;
            CREATE OR REPLACE TRIGGER {channel} AFTER INSERT OR UPDATE ON {table}
                FOR EACH ROW WHEN ({condition}) EXECUTE FUNCTION {channel}();
            """
        )
        return watch

    def _heard(self, connection: object, pid: int, channel: str, payload: object) -> None:
        self.readable.setdefault(UUID(str(payload)), time.time())

    async def stop(self) -> None:
        await self.connection.execute(
            f"DROP TRIGGER IF EXISTS {self.channel} ON {self.table}; DROP FUNCTION IF EXISTS {self.channel}()"
        )
        await self.connection.close()


class BrokerTap:
    """A consumer of this process's own (no group, the broker's short fetch wait) noting when each
    event of `event_type` is first seen on `topic`: where the relay's part of the way ends."""

    def __init__(self, broker: DevBroker, topic: str, event_type: str) -> None:
        self.event_type = event_type.encode()
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=broker.bootstrap_servers,
            group_id=None,
            auto_offset_reset="latest",
            fetch_max_wait_ms=broker.fetch_max_wait_ms or 500,
        )
        self.seen: dict[UUID, float] = {}
        # When the relay handed each to its producer: the record's CreateTime, which aiokafka stamps
        # as the relay appends the record to its batch (after reading it from the store).
        self.handed: dict[UUID, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        await self.consumer.seek_to_end()  # what is appended from now on
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=1000, max_records=1000)
            now = time.time()
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    if headers.get("ce_type") == self.event_type:
                        event_id = UUID(headers["ce_id"].decode())
                        self.seen.setdefault(event_id, now)
                        self.handed.setdefault(event_id, record.timestamp / 1000)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()


@dataclass
class EndToEnd:
    """One end-to-end step: its enrollments, and per approval the ms from the 2xx to each point."""

    step: Step
    readable: list[float]  # readable in pairing
    on_broker: list[float]  # seen on the broker by the bench's own consumer
    handed: list[float]  # handed by the relay to its producer
    in_reporting: list[float]  # readable in reporting's read model
    in_reporting_inbox: list[float]  # retained in reporting's inbox, before its projection applies it


def report(steps: list[Step], ends: list[tuple[float, EndToEnd]]) -> str:
    lines = [
        "| endpoint | asked /s | answered /s | p50 ms | p95 ms | p99 ms | errors | CPU ms per request |",
        "|---|---|---|---|---|---|---|---|",
        *(step.row() for step in steps),
        "",
    ]
    for rate, end in ends:
        lines += end_to_end_lines(rate, end)
    return "\n".join(lines)


def spread(delays: list[float]) -> str:
    """p50, p95 and p99 of `delays` (sorted)."""
    if not delays:
        return "none seen"
    at = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]  # noqa: E731
    return f"p50 {at(0.5):.0f} ms, p95 {at(0.95):.0f} ms, p99 {at(0.99):.0f} ms"


def end_to_end_lines(rate: float, end: EndToEnd) -> list[str]:
    step, delays, relayed = end.step, end.readable, end.on_broker
    lines = []
    if delays:
        answered = len(step.latencies_ms) / step.seconds if step.seconds else 0.0
        lines.append(
            f"End to end at {rate:.0f} enrollments/s ({len(delays):,} enrollments, enrollment's 2xx → readable "
            f"in pairing, committed): {spread(delays)}, mean "
            f"{statistics.fmean(delays):.0f} ms; the enroll answers themselves ({answered:.0f}/s answered of "
            f"{rate:.0f}/s asked): p50 {step.percentile(0.5):.1f} ms, "
            f"p99 {step.percentile(0.99):.1f} ms; CPU ms per enrollment: {step.cpu_ms_per_request()}."
        )
    if relayed:
        lines.append(
            f"Of that way, 2xx → the approval on the broker (the relay's part, seen by a consumer of the bench's "
            f"own, {len(relayed):,} approvals): {spread(relayed)}; "
            f"of which 2xx → handed by the relay to its producer (the record's CreateTime): {spread(end.handed)}."
        )
    if end.in_reporting:
        lines.append(
            f"And 2xx → approved in reporting's read model (`participants`, committed; {len(end.in_reporting):,} "
            f"enrollments): {spread(end.in_reporting)}, mean {statistics.fmean(end.in_reporting):.0f} ms; "
            f"of which 2xx → retained in reporting's inbox (its consumer's commit, before the projection applies "
            f"it): {spread(end.in_reporting_inbox)}."
        )
    return lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short steps, low rates: a smoke run")
    parser.add_argument("--step-seconds", type=float, default=10)
    parser.add_argument(
        "--e2e-rate",
        default="200",
        help="enrollments a second for the end-to-end step; a comma-separated list runs one step each, in turn"
        " (e.g. 50,100,150,200: how far this machine takes the target)",
    )
    parser.add_argument("--e2e-only", action="store_true", help="only the end-to-end step (after opening the program)")
    parser.add_argument(
        "--enrollment-replicas",
        type=int,
        default=1,
        help="enrollment service processes, enrollments sent to each in turn (the chart runs two of each service)",
    )
    arguments = parser.parse_args()
    rates = (10, 20) if arguments.quick else RATES
    step_seconds = 3 if arguments.quick else arguments.step_seconds
    e2e_rates = [20.0] if arguments.quick else [float(rate) for rate in arguments.e2e_rate.split(",")]
    platform = Platform(  # the chart's default pool
        logs=LOGS, replicas_per_service=1, pool_max=10, replicas_of={"enrollment": arguments.enrollment_replicas}
    )
    say(f"starting every service, one process each ({arguments.enrollment_replicas} for enrollment)")
    await platform.start()
    try:
        asked = (0 if arguments.e2e_only else sum(rates)) + sum(e2e_rates)  # enrollments a second, over the steps
        bench = Bench(platform, step_seconds, people=int(asked * step_seconds * 1.5) + 100)
        try:
            await bench.open_program()
            steps: list[Step] = []
            if not arguments.e2e_only:
                steps += await bench.rising("POST /programs/{id}/enrollments", bench.enroll, rates)
                steps += await bench.rising("GET /programs/{id}/participants?limit=50", bench.participants, rates)
                steps += await bench.rising("GET /programs/{id}", bench.overview, rates)
            ends = []
            for rate in e2e_rates:
                ends.append((rate, await bench.end_to_end(rate)))
                say("\n".join(end_to_end_lines(rate, ends[-1][1])))
        finally:
            for client in bench.clients:
                await client.aclose()
    finally:
        await platform.close()
    print(report(steps, ends))


if __name__ == "__main__":
    asyncio.run(main())
