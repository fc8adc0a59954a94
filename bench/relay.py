"""The outbox relay against its ceiling: appended → acknowledged by the broker, beside a bare aiokafka
producer sending the very same records in the same run, with the order of every stream checked.

    .venv/bin/python bench/relay.py               # 60,000 events in 6,000 streams, about a minute
    .venv/bin/python bench/relay.py --quick       # a smoke run
    .venv/bin/python bench/relay.py --events 200000

Needs PostgreSQL (TANDEM_TEST_ADMIN_DSN, default postgres@127.0.0.1:5432); starts its own Tansu broker
and creates and drops its own database. Progress goes to stderr; stdout is the markdown for
BENCHMARKS.md. Traces like a service (`configure_tracing`, no exporter).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from _workload import Measurement, Timer, participant_applied, registry
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.events import NewEvent
from tandem_kernel.kafka import RelayProducer, TopicKeeper
from tandem_kernel.relay import OutboxRelay, cloudevent_headers
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import Cursor, EventStore
from tandem_kernel.telemetry import configure_tracing
from tandem_kernel.testing import fresh_database

SCHEMA = "bench"
PER_STREAM = 10


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


async def fill(store: EventStore, events: int) -> None:
    """`events` events, PER_STREAM versions per stream, appended by 16 writers in batches of 10."""

    async def write(streams: range) -> None:
        for stream in streams:
            await store.append(f"s{stream}", 0, [NewEvent(participant_applied()) for _ in range(PER_STREAM)])

    streams = events // PER_STREAM
    await asyncio.gather(*(write(range(w, streams, 16)) for w in range(16)))


async def bare_producer(store: EventStore, settings: ServiceSettings, topic: str) -> Measurement:
    """The ceiling: the stored records (documents, keys, headers), read beforehand, sent by one aiokafka producer."""
    records = await _stored_records(store)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        await (await producer.send(topic, b"warm-up", key=b"warm-up"))
        with Timer() as timer:
            futures = [await producer.send(topic, value, key=key, headers=headers) for key, value, headers in records]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return Measurement(
        "reference: a bare aiokafka producer, send() per record, the same records (read beforehand)",
        len(records),
        timer.seconds,
        "acks=all, linger 5 ms; no database, no checkpoint: the ceiling of one Python producer here",
    )


async def bare_batches(store: EventStore, settings: ServiceSettings, topic: str) -> Measurement:
    """The tighter ceiling: the same records in aiokafka record batches built by hand (what the relay's
    producer does), without the database."""
    records = await _stored_records(store)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    try:
        await (await producer.send(topic, b"warm-up", key=b"warm-up"))
        partitions = sorted(await producer.partitions_for(topic))
        partitioner = DefaultPartitioner()
        with Timer() as timer:
            batches: dict[int, Any] = {}
            futures = []
            for key, value, headers in records:
                partition = partitioner(key, partitions, partitions)
                batch = batches.setdefault(partition, producer.create_batch())
                if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = batches[partition] = producer.create_batch()
                    batch.append(timestamp=None, key=key, value=value, headers=headers)
            for partition, batch in batches.items():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return Measurement(
        "reference: bare aiokafka record batches of the same records (read beforehand)",
        len(records),
        timer.seconds,
        "create_batch/send_batch, partitioned like the default partitioner; no database, no checkpoint",
    )


async def _stored_records(store: EventStore) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    rows, cursor = [], Cursor.origin()
    while page := await store.read_all_wire(cursor, 5000):
        rows += page
        cursor = Cursor(page[-1]["transaction_id"], page[-1]["position"])
    return [
        (row["stream_id"].encode(), row["document"].encode(), cloudevent_headers(row, "/tandem/bench")) for row in rows
    ]


async def relay_all(store: EventStore, settings: ServiceSettings, dsn: str) -> Measurement:
    producer = RelayProducer(settings)
    await producer.start()
    try:
        relay = OutboxRelay(
            store,
            producer,
            topic=settings.topic,
            source="/tandem/bench",
            dsn=dsn,
            batch_size=settings.relay_batch_size,
            topics=TopicKeeper(settings, [settings.topic]),
        )
        await relay.check_topic()  # what the relay does once it leads
        total = 0
        with Timer() as timer:
            while published := await relay.publish_pending():
                total += published
        left, _ = await relay.lag()
    finally:
        await producer.stop()
    detail = f"the service's relay and producer, batches of {settings.relay_batch_size}, checkpoint after each"
    return Measurement(
        "relay: appended → acknowledged by the broker",
        total,
        timer.seconds,
        detail + (f"; {left} events held back" if left else ""),
    )


async def order_kept(settings: ServiceSettings, topic: str, expected: int) -> str:
    """Read the topic back: each stream's versions must arrive in order (a stream keeps one partition)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: dict[bytes, list[int]] = defaultdict(list)
    count = 0
    try:
        async with asyncio.timeout(120):
            while count < expected:
                for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                    for record in records:
                        count += 1
                        seen[record.key].append(registry().envelope_from_json(record.value).stream_version)
    finally:
        await consumer.stop()
    # Each run publishes every stream again from version 1: within a run, versions must only grow.
    out_of_order = sum(
        1
        for versions in seen.values()
        for before, after in itertools.pairwise(versions)
        if after <= before and after != 1
    )
    return f"{count:,} records read back, {len(seen):,} streams, {out_of_order} out of order"


async def run(args: argparse.Namespace) -> tuple[list[str], list[Measurement], str]:
    async with fresh_database("tandem_bench_relay") as dsn:
        await migrate(dsn, SCHEMA)
        pool = await create_pool(dsn, SCHEMA, min_size=4, max_size=20)
        store = EventStore(pool, schema=SCHEMA, registry=registry())
        try:
            progress(f"appending {args.events:,} events ...")
            await fill(store, args.events)
            with DevBroker() as broker:
                settings = ServiceSettings(
                    service_name=SCHEMA, kafka_bootstrap_servers=broker.bootstrap_servers, relay_batch_size=args.batch
                )
                await TopicKeeper(settings, [settings.topic, "bench.bare"]).ensure()
                results = []
                for _ in range(args.rounds):  # alternate, as other load on the machine drifts
                    for label, reference in (("bare producer", bare_producer), ("bare batches", bare_batches)):
                        progress(f"{label} ...")
                        results.append(await reference(store, settings, "bench.bare"))
                        progress(f"   {results[-1].rate:,.0f}/s")
                    await store.pool.execute("DELETE FROM checkpoints")
                    progress("relay ...")
                    results.append(await relay_all(store, settings, dsn))
                    progress(f"   {results[-1].rate:,.0f}/s")
                progress("reading the relay's topic back ...")
                order = await order_kept(settings, settings.topic, args.events * args.rounds)
        finally:
            await pool.close()
    machine = [
        f"{os.cpu_count()} cores; other load before the run: {os.getloadavg()[0]:.1f} (1-minute load average)",
        f"{args.events:,} events of ~480 bytes, {PER_STREAM} per stream; Tansu (memory), "
        f"{settings.kafka_topic_partitions} partitions, acks=all",
    ]
    return machine, results, order


def report(machine: list[str], results: list[Measurement], order: str) -> str:
    lines = [*(f"- {line}" for line in machine), "", "| benchmark | events | seconds | events/s | notes |"]
    lines.append("|---|---:|---:|---:|---|")
    for result in results:
        lines.append(
            f"| {result.name} | {result.events:,} | {result.seconds:.2f} | {result.rate:,.0f} | {result.detail} |"
        )
    best = {name: max(r.rate for r in results if r.name == name) for name in {r.name for r in results}}
    relay = next(rate for name, rate in best.items() if name.startswith("relay"))
    per_record = next(rate for name, rate in best.items() if "send()" in name)
    batches = next(rate for name, rate in best.items() if "record batches" in name)
    lines += [
        "",
        f"Best runs: relay {relay:,.0f} events/s; {relay / per_record:.0%} of the bare per-record producer and "
        f"{relay / batches:.0%} of bare record batches. Order: {order}.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, help="events to relay (default 60000; 5000 with --quick)")
    parser.add_argument("--batch", type=int, default=ServiceSettings.model_fields["relay_batch_size"].default)
    parser.add_argument("--rounds", type=int, default=2, help="bare/relay pairs, alternated")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    args.events = args.events or (5_000 if args.quick else 60_000)
    configure_tracing("bench")
    print(report(*asyncio.run(run(args))))


if __name__ == "__main__":
    main()
