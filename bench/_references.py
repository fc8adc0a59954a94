"""The yardsticks: the `eventsourcing` library's PostgreSQL recorder, and pgbench on the same server."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

from _workload import Measurement, Timer, shares

__all__ = ["eventsourcing_appends", "find_pgbench", "pgbench_inserts"]


def eventsourcing_appends(
    dsn: str, payload: bytes, *, events: int, writers: int, per_stream: int, warmup: int
) -> Measurement:
    """One event per `insert_events` call from `writers` threads, `per_stream` versions per aggregate."""
    try:
        from eventsourcing.persistence import StoredEvent
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    except ImportError as error:  # psycopg_pool comes with the `eventsourcing[postgres]` extra
        return Measurement("eventsourcing", 0, 0.0, f"skipped: {error} (pip install 'eventsourcing[postgres]')")

    url = urlsplit(dsn)
    datastore = PostgresDatastore(
        dbname=url.path.lstrip("/"),
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or "",
        pool_size=writers,
    )
    try:
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()

        def write(count: int, latencies: list[float] | None) -> None:
            for n in range(count):
                if n % per_stream == 0:
                    aggregate = uuid4()
                stored = StoredEvent(aggregate, n % per_stream + 1, "bench:ParticipantApplied", payload)
                started = time.perf_counter()
                recorder.insert_events([stored])
                if latencies is not None:
                    latencies.append((time.perf_counter() - started) * 1000)

        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(lambda _: write(warmup, None), range(writers)))
            timer, lock = Timer(), threading.Lock()

            def timed(count: int) -> None:
                latencies: list[float] = []
                write(count, latencies)
                with lock:
                    timer.latencies_ms.extend(latencies)

            with timer:
                list(pool.map(timed, shares(events, writers)))
    finally:
        datastore.close()
    return Measurement(
        f"reference A: eventsourcing {_version('eventsourcing')} PostgresApplicationRecorder, "
        f"1 event per append, {writers} threads",
        events,
        timer.seconds,
        f"{per_stream} versions per aggregate; {timer.percentiles()}; takes LOCK TABLE ... EXCLUSIVE per insert",
    )


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    return candidates[-1] if candidates else None


def pgbench_inserts(dsn: str, payload: str, *, clients: int, threads: int, seconds: int) -> Measurement:
    """pgbench inserting one jsonb row per transaction into `raw_events` (created beforehand)."""
    binary = find_pgbench()
    if binary is None:
        return Measurement("pgbench", 0, 0.0, "skipped: no pgbench (apt-get install postgresql-client)")
    assert "'" not in payload
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "insert.sql")
        script.write_text(f"INSERT INTO raw_events (payload) VALUES ('{payload}');\n")
        completed = subprocess.run(
            [
                binary,
                "--no-vacuum",
                "--protocol=prepared",
                f"--client={clients}",
                f"--jobs={threads}",
                f"--time={seconds}",
                f"--file={script}",
                dsn,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    processed = int(_search(r"number of transactions actually processed: (\d+)", completed.stdout))
    tps = float(_search(r"tps = ([\d.]+) \(without initial connection time\)", completed.stdout))
    return Measurement(
        f"reference B: pgbench, 1 jsonb row per transaction, -c {clients} -j {threads}",
        processed,
        processed / tps,
        f"{len(payload)}-byte payload, prepared statements, {seconds} s; physical limit of this server",
    )


RAW_EVENTS_TABLE = (
    "CREATE TABLE raw_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL)"
)


def _search(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"pgbench printed no {pattern!r}:\n{text}")
    return match.group(1)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
