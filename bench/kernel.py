"""The kernel benchmark: event store appends and reads, and three yardsticks (the relay: bench/relay.py).

    .venv/bin/python bench/kernel.py              # the full run, about 2 minutes
    .venv/bin/python bench/kernel.py --quick      # a smoke run of a few seconds
    .venv/bin/python bench/kernel.py --events 50000

Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default postgres@127.0.0.1:5432) and pgbench; creates and
drops its own databases. Progress goes to stderr; stdout is the
markdown for BENCHMARKS.md. The process traces like a service (`configure_tracing`, no exporter)
unless `--no-tracing`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Awaitable, Sequence

import asyncpg
from _references import RAW_EVENTS_TABLE, eventsourcing_appends, pgbench_inserts
from _workload import Measurement, Timer, participant_applied, registry, shares, stored_json
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import NewEvent
from tandem_kernel.store import Cursor, EventStore
from tandem_kernel.telemetry import configure_tracing
from tandem_kernel.testing import fresh_database

SCHEMA = "bench"
PER_STREAM = 10  # single appends: each writer's streams get versions 1..10, then it opens the next
BATCH = 100
PAGE = 1000


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the event store ------------------------------------------------------------------------------


async def single_appends(store: EventStore, *, events: int, writers: int, warmup: int) -> Measurement:
    async def write(prefix: str, batch: Sequence[NewEvent], latencies: list[float]) -> None:
        for n, event in enumerate(batch):
            started = time.perf_counter()
            await store.append(f"{prefix}-{n // PER_STREAM}", n % PER_STREAM, [event])
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(write(f"warmup-{w}", _new_events(warmup), []) for w in range(writers)))
    work = [_new_events(share) for share in shares(events, writers)]
    with Timer() as timer:
        await asyncio.gather(*(write(f"participant-{w}", batch, timer.latencies_ms) for w, batch in enumerate(work)))
    return Measurement(
        f"append, 1 event per append, {writers} concurrent writers",
        events,
        timer.seconds,
        f"each writer its own streams, {PER_STREAM} sequential versions each; {timer.percentiles()}",
    )


def processes_appends(dsn: str, *, events: int, writers: int, processes: int, warmup: int) -> Measurement:
    """Single-event appends from `writers` writers spread over `processes` OS processes, like service
    replicas: one Python process cannot drive the server as hard as pgbench's C clients can."""
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Barrier(processes + 1), context.Event(), context.Queue()
    per_process = [share for share in shares(writers, processes) if share]
    workers = [
        context.Process(target=_append_worker, args=(dsn, f"p{n}", share, events_share, warmup, ready, go, results))
        for n, (share, events_share) in enumerate(zip(per_process, shares(events, len(per_process)), strict=True))
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    go.set()
    spans = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return Measurement(
        f"append, 1 event per append, {writers} writers in {len(workers)} processes",
        events,
        seconds,
        "as rows 1, spread over processes like service replicas (each its own pool)",
    )


def _append_worker(dsn: str, prefix: str, writers: int, events: int, warmup: int, ready, go, results) -> None:  # type: ignore[no-untyped-def]
    async def work() -> None:
        pool = await create_pool(dsn, SCHEMA, min_size=writers, max_size=writers)
        store = EventStore(pool, schema=SCHEMA, registry=registry())

        async def write(name: str, batch: Sequence[NewEvent]) -> None:
            for n, event in enumerate(batch):
                await store.append(f"{name}-{n // PER_STREAM}", n % PER_STREAM, [event])

        await asyncio.gather(*(write(f"warmup-{prefix}-{w}", _new_events(warmup)) for w in range(writers)))
        work = [_new_events(share) for share in shares(events, writers)]
        await asyncio.to_thread(ready.wait)
        await asyncio.to_thread(go.wait)
        started = time.monotonic()
        await asyncio.gather(*(write(f"multi-{prefix}-{w}", batch) for w, batch in enumerate(work)))
        results.put((started, time.monotonic()))
        await pool.close()

    asyncio.run(work())


async def batched_appends(store: EventStore, *, events: int, writers: int) -> Measurement:
    async def write(w: int, batches: int) -> None:
        for n in range(batches):
            await store.append(f"cohort-{w}-{n}", 0, _new_events(BATCH))

    await write(-1, 2)  # warm-up
    batches = max(1, events // BATCH)
    with Timer() as timer:
        await asyncio.gather(*(write(w, share) for w, share in enumerate(shares(batches, writers)) if share))
    return Measurement(
        f"append, {BATCH} events per append, {writers} concurrent writers",
        batches * BATCH,
        timer.seconds,
        "each append opens a new stream",
    )


async def unreadable(store: EventStore, timeout: float) -> str:
    """Wait up to `timeout` seconds until every stored event is readable; why not, if they are not.

    `read_all` stops below the oldest transaction still open anywhere on the server (transaction ids
    are cluster-wide): another database's long transaction hides our events for as long as it lasts.
    """
    deadline = time.monotonic() + timeout
    while hidden := await store.pool.fetchval(
        "SELECT count(*) FROM events WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())"
    ):
        blockers = await _oldest_transactions(store.pool)
        if time.monotonic() > deadline:
            return f"{hidden} events stayed unreadable for {timeout:.0f} s behind {blockers}"
        progress(f"   {hidden} events not readable yet, waiting for {blockers}")
        await asyncio.sleep(2)
    return ""


async def _oldest_transactions(pool: asyncpg.Pool) -> str:
    rows = await pool.fetch(
        "SELECT pid, datname, state, extract(epoch FROM now() - xact_start)::int AS age FROM pg_stat_activity"
        " WHERE backend_xid IS NOT NULL ORDER BY age(backend_xid) DESC LIMIT 2"
    )
    return "; ".join(f"pid {r['pid']} in {r['datname']} ({r['state']}, open {r['age']} s)" for r in rows)


async def read_everything(store: EventStore, *, wait: float) -> Measurement:
    name = f"read_all, pages of {PAGE}, decoded envelopes, 1 reader"
    if blocked := await unreadable(store, wait):
        return Measurement(name, 0, 0.0, f"not measured: {blocked}")
    await store.read_all(Cursor.origin(), PAGE)  # warm-up
    cursor, total = Cursor.origin(), 0
    with Timer() as timer:
        while page := await store.read_all(cursor, PAGE):
            total += len(page)
            last = page[-1]
            assert last.transaction_id is not None
            cursor = Cursor(last.transaction_id, last.position)
    return Measurement(name, total, timer.seconds, "the whole store, from the origin")


async def bare_inserts(pool: asyncpg.Pool, payload: str, *, events: int, writers: int) -> Measurement:
    """pgbench's insert sent from this process through the same pool: what a Python client can reach."""

    async def write(count: int) -> None:
        for _ in range(count):
            await pool.execute("INSERT INTO raw_events (payload) VALUES ($1)", payload)

    await asyncio.gather(*(write(5) for _ in range(writers)))  # warm-up
    with Timer() as timer:
        await asyncio.gather(*(write(share) for share in shares(events, writers)))
    return Measurement(
        f"reference C: the pgbench insert sent by asyncpg from this process, {writers} tasks",
        events,
        timer.seconds,
        "a pool like rows 1 and 3 (create_pool); the ceiling for any store written in Python on this machine",
    )


def _new_events(count: int) -> list[NewEvent]:
    return [NewEvent(participant_applied()) for _ in range(count)]


# -- the run --------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> tuple[list[str], list[Measurement]]:
    """Rows in table order, measured in an order that keeps the ratios fair: our single-event appends,
    pgbench and the bare-asyncpg ceiling run back to back, as other load on the machine drifts."""
    results: dict[str, Measurement] = {}

    async def step(key: str, measurement: Awaitable[Measurement]) -> None:
        progress(f"{key} ...")
        result = results[key] = await measurement
        if result.events:
            progress(f"   {result.events:,} events in {result.seconds:.2f} s: {result.rate:,.0f}/s")
        else:
            progress(f"   {result.detail}")

    payload = stored_json(participant_applied())
    async with fresh_database("tandem_bench") as dsn, fresh_database("tandem_bench_raw") as raw_dsn:
        machine = await _machine(dsn)
        await migrate(dsn, SCHEMA)
        pool = await create_pool(dsn, SCHEMA, min_size=args.writers, max_size=args.writers + 4)
        raw_pool = await create_pool(raw_dsn, "public", min_size=args.writers, max_size=args.writers + 4)
        try:
            store = EventStore(pool, schema=SCHEMA, registry=registry())
            await raw_pool.execute(RAW_EVENTS_TABLE)
            await step("single", single_appends(store, events=args.events, writers=args.writers, warmup=args.warmup))
            await step(
                "processes",
                asyncio.to_thread(
                    processes_appends,
                    dsn,
                    events=args.events,
                    writers=args.writers,
                    processes=args.processes,
                    warmup=args.warmup,
                ),
            )
            await step(
                "pgbench",
                asyncio.to_thread(
                    pgbench_inserts, raw_dsn, payload, clients=args.writers, threads=2, seconds=args.pgbench_seconds
                ),
            )
            await step("asyncpg", bare_inserts(raw_pool, payload, events=args.events, writers=args.writers))
            await step("batched", batched_appends(store, events=args.events, writers=args.writers))
            await step("read_all", read_everything(store, wait=args.wait))
        finally:
            await raw_pool.close()
            await pool.close()
    async with fresh_database("tandem_bench_es") as dsn:
        await step(
            "eventsourcing",
            asyncio.to_thread(
                eventsourcing_appends,
                dsn,
                payload.encode(),
                events=args.events,
                writers=args.writers,
                per_stream=PER_STREAM,
                warmup=args.warmup,
            ),
        )
    machine.append(f"payload: {len(payload)} bytes of JSON per event (a participant's application)")
    order = ("single", "processes", "batched", "read_all", "eventsourcing", "pgbench", "asyncpg")
    return machine, [results[key] for key in order]


async def _machine(dsn: str) -> list[str]:
    connection = await asyncpg.connect(dsn)
    try:
        settings = {
            name: await connection.fetchval(f"SHOW {name}")
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers", "max_connections")
        }
    finally:
        await connection.close()
    ram_kib = _ram_kib()
    before = _cpu_times()
    await asyncio.sleep(1)
    busy = _busy(before, _cpu_times())
    return [
        f"machine: {os.cpu_count()} cores, {ram_kib / 1024**2:.0f} GiB RAM, {platform.platform()}, "
        f"Python {platform.python_version()}",
        f"PostgreSQL {settings['server_version']} (synchronous_commit={settings['synchronous_commit']}, "
        f"fsync={settings['fsync']}, shared_buffers={settings['shared_buffers']}, "
        f"max_connections={settings['max_connections']}), same server for every row",
        f"other load before the run: {busy:.0%} of the CPUs busy"
        + (" (other processes were running: expect noisy numbers)" if busy > 0.1 else ""),
    ]


def _ram_kib() -> int:
    with open("/proc/meminfo") as meminfo:
        return int(meminfo.readline().split()[1])


def _cpu_times() -> tuple[int, int]:
    """(total, idle) jiffies of all CPUs since boot."""
    with open("/proc/stat") as stat:
        jiffies = [int(field) for field in stat.readline().split()[1:]]
    return sum(jiffies), jiffies[3] + jiffies[4]


def _busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    total, idle = after[0] - before[0], after[1] - before[1]
    return 1 - idle / total if total else 0.0


def report(machine: list[str], results: list[Measurement], tracing: bool) -> str:
    lines = [f"- {line}" for line in machine]
    lines.append(f"- tracing: {'on, as in a service (no exporter)' if tracing else 'off (--no-tracing)'}")
    lines += ["", "| # | benchmark | events | seconds | events/s | notes |", "|---|---|---:|---:|---:|---|"]
    for number, result in enumerate(results, 1):
        rate = f"{result.rate:,.0f}" if result.events else "—"
        lines.append(
            f"| {number} | {result.name} | {result.events:,} | {result.seconds:.2f} | {rate} | {result.detail} |"
        )
    ours, spread, library, physical, python = (results[n].rate for n in (0, 1, 4, 5, 6))
    lines.append(
        f"| {len(results) + 1} | single-event appends (1) against each reference | | | | "
        f"{_ratio(ours, library, 'A')}; {_ratio(ours, physical, 'B')} (target ≥ 60%); {_ratio(ours, python, 'C')} |"
    )
    lines.append(
        f"| {len(results) + 2} | single-event appends over processes (2) against each reference | | | | "
        f"{_ratio(spread, library, 'A')}; {_ratio(spread, physical, 'B')} (target ≥ 60%) |"
    )
    return "\n".join(lines)


def _ratio(ours: float, reference: float, name: str) -> str:
    if not reference:
        return f"{name}: not measured"
    return f"{100 * ours / reference:.0f}% of {name}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, help="events per append benchmark (default 20000; 1000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--writers", type=int, default=16, help="concurrent writers and pgbench clients")
    parser.add_argument("--processes", type=int, default=4, help="processes sharing the writers in row 2")
    parser.add_argument("--no-tracing", dest="tracing", action="store_false", help="no tracer provider")
    args = parser.parse_args(argv)
    args.events = args.events or (1000 if args.quick else 20_000)
    args.warmup = 5 if args.quick else 25
    args.pgbench_seconds = 2 if args.quick else 10
    args.wait = 10.0 if args.quick else 60.0  # for another database's open transaction (see `unreadable`)
    if args.tracing:
        configure_tracing("bench")
    started = time.perf_counter()
    machine, results = asyncio.run(run(args))
    progress(f"done in {time.perf_counter() - started:.0f} s")
    print(report(machine, results, args.tracing))


if __name__ == "__main__":
    main()
