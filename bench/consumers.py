"""A kernel consumer's rate through the real broker: each fetch handled in one transaction, beside the
same subscription handling one message per transaction, in the same run.

    .venv/bin/python bench/consumers.py               # 20,000 events, about a minute
    .venv/bin/python bench/consumers.py --quick       # a smoke run

The events are the relay benchmark's (a participant's application, ~480 bytes), published by the
service's own relay; each consumer is the kernel's `subscribe` feeding a `MessageProcessor` in its own
consumer group, with a handler that upserts one row (as pairing's pool does). The clock runs from the
consumer's start until its inbox holds every event. Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default
postgres@127.0.0.1:5432); starts its own Tansu broker and creates and drops its own database.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import time
from collections.abc import Sequence

import asyncpg
from _workload import Measurement, ParticipantApplied, Timer, registry
from relay import SCHEMA, fill, progress, relay_all
from tandem_kernel.consumers import MessageProcessor, Subscription
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.events import EventEnvelope
from tandem_kernel.kafka import CONSUMER_BATCH_MAX, TopicKeeper, build_broker, subscribe
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.telemetry import configure_tracing
from tandem_kernel.testing import fresh_database


async def keep_in_pool(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, ParticipantApplied)
    await connection.execute(
        "INSERT INTO pool (participant_id, role, languages, time_zone) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (participant_id) DO UPDATE SET role = EXCLUDED.role, languages = EXCLUDED.languages",
        event.participant_id,
        event.role,
        list(event.languages),
        event.time_zone,
    )


async def no_dead_letters(topic: str, message: IncomingMessage, headers: dict[str, str]) -> None:
    raise AssertionError(f"a benchmark message was dead-lettered: {headers}")


async def consume_all(pool: asyncpg.Pool, settings: ServiceSettings, subscription: Subscription, events: int) -> float:
    """Seconds from the consumer's start until its inbox holds `events` events."""
    broker = build_broker(settings)
    subscribe(broker, MessageProcessor(subscription, pool, no_dead_letters))
    with Timer() as timer:
        await broker.start()
        try:
            while await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = $1", subscription.name) < events:
                await asyncio.sleep(0.05)
        finally:
            elapsed = time.perf_counter() - timer._start
            await broker.stop()
    return elapsed


async def run(args: argparse.Namespace) -> tuple[list[str], list[Measurement]]:
    async with fresh_database("tandem_bench_consumers") as dsn:
        await migrate(dsn, SCHEMA)
        pool = await create_pool(dsn, SCHEMA, min_size=4, max_size=10)
        store = EventStore(pool, schema=SCHEMA, registry=registry())
        await pool.execute(
            "CREATE TABLE pool (participant_id uuid PRIMARY KEY, role text, languages text[], time_zone text)"
        )
        try:
            progress(f"appending {args.events:,} events ...")
            await fill(store, args.events)
            with DevBroker() as broker:
                settings = ServiceSettings(service_name=SCHEMA, kafka_bootstrap_servers=broker.bootstrap_servers)
                await TopicKeeper(settings, [settings.topic]).ensure()
                progress("publishing them ...")
                await relay_all(store, settings, dsn)
                results = []
                for round_ in range(args.rounds):  # alternate, as other load on the machine drifts
                    for in_batches in (False, True):
                        name = f"bench.{'batches' if in_batches else 'single'}.{round_}"
                        subscription = Subscription(
                            name, (settings.topic,), registry(), {ParticipantApplied: keep_in_pool}
                        )
                        subscription = dataclasses.replace(subscription, in_batches=in_batches)
                        progress(f"{name} ...")
                        cpu = time.process_time()
                        seconds = await consume_all(pool, settings, subscription, args.events)
                        cpu = time.process_time() - cpu
                        transactions = await pool.fetchval(
                            "SELECT count(DISTINCT transaction_id) FROM inbox WHERE consumer = $1", name
                        )
                        how = (
                            f"each fetch (≤ {CONSUMER_BATCH_MAX}) in one transaction"
                            if in_batches
                            else ("one transaction per message")
                        )
                        results.append(
                            Measurement(
                                f"consumer, {how}",
                                args.events,
                                seconds,
                                f"client CPU {cpu * 1e6 / args.events:.0f} µs/event; {transactions:,} transactions"
                                f" ({args.events / transactions:.1f} events each)",
                            )
                        )
                        progress(f"   {results[-1].rate:,.0f}/s")
        finally:
            await pool.close()
    machine = [
        f"{os.cpu_count()} cores; other load before the run: {os.getloadavg()[0]:.1f} (1-minute load average)",
        f"{args.events:,} events of ~480 bytes; Tansu (memory), {settings.kafka_topic_partitions} partitions; "
        "PostgreSQL synchronous_commit on",
    ]
    return machine, results


def report(machine: list[str], results: list[Measurement]) -> str:
    lines = [*(f"- {line}" for line in machine), "", "| consumer | events | seconds | events/s | notes |"]
    lines.append("|---|---:|---:|---:|---|")
    for result in results:
        lines.append(
            f"| {result.name} | {result.events:,} | {result.seconds:.2f} | {result.rate:,.0f} | {result.detail} |"
        )
    best = {name: max(r.rate for r in results if r.name == name) for name in {r.name for r in results}}
    batches = next(rate for name, rate in best.items() if "fetch" in name)
    single = next(rate for name, rate in best.items() if "per message" in name)
    lines += ["", f"Best runs: in batches {batches:,.0f} events/s, {batches / single:.1f} times one per transaction."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, help="events to consume (default 20000; 2000 with --quick)")
    parser.add_argument("--rounds", type=int, default=2, help="single/batches pairs, alternated")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    args.events = args.events or (2_000 if args.quick else 20_000)
    configure_tracing("bench")
    print(report(*asyncio.run(run(args))))


if __name__ == "__main__":
    main()
