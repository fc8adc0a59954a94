"""Background work that survives the process that started it: durable, leased, resumable, observable.

A job is a row in the service's `jobs` table, enqueued in the same transaction as whatever asked for
it (a round requested, a file uploaded: `enqueue(unit.connection, ...)`), so no request is ever
accepted without its work being recorded. Every replica runs a `JobWorker`; a worker claims a due job
with a lease (`FOR UPDATE SKIP LOCKED`), renews the lease with a heartbeat while the job runs, and
marks it done. If the worker's process dies, the lease lapses after `lease_seconds` and another
replica takes the job over; if it is stopped (SIGTERM, a scale-down), it hands the job back at once.
A job therefore must be idempotent when run again, and may save `progress` as it goes (in the same
transaction as its effects, fenced by its lease) so that a takeover resumes rather than restarts.

Failures are retried with backoff up to the kind's `max_attempts` (a process dying counts as one
attempt, so a job that kills its process cannot loop), then the job is `failed`, with its error.
A kind may be recurring (`every`): finishing it enqueues its next run, so schedulers (reminders,
expiries, rotations) are jobs too and run on one replica at a time.

Why not a job library (procrastinate, pgqueuer — both evaluated): enqueueing must join the command's
own transaction on asyncpg, in the service's own schema; progress must be fenced by the lease; and
the jobs view, metrics and readiness must look like the rest of the kernel. The glue to make a
library do that was larger than this module.

Ops: `GET /ops/jobs`, `tandem jobs list <service>`, metrics `tandem_jobs{kind,state}`,
`tandem_jobs_stuck{kind}` (running past its lease, or queued long past its time) and
`tandem_job_runs_total{kind,outcome}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from tandem_kernel.database import CONNECTION_ERRORS
from tandem_kernel.metrics import JOB_RUNS, JOBS, JOBS_STUCK

__all__ = [
    "JobContext",
    "JobKind",
    "JobRecord",
    "JobWorker",
    "LeaseLost",
    "enqueue",
    "jobs_channel",
    "list_jobs",
    "owner_name",
]

# PostgreSQL away, or a connection it dropped (asyncpg's InternalClientError "another operation is
# in progress" included, found by chaos: it stopped the worker for good): retried, never fatal.
_UNREACHABLE: tuple[type[BaseException], ...] = (OSError, asyncpg.PostgresError, *CONNECTION_ERRORS)

log = logging.getLogger("tandem.jobs")

STUCK_QUEUED_AFTER = timedelta(minutes=2)


class LeaseLost(Exception):
    """The job's lease lapsed and another worker took it over: this run must stop writing."""


@dataclass(frozen=True)
class JobKind:
    """A kind of background work: its name, what runs it, and how it is retried.

    >>> JobKind("pairing.round", run_round, max_attempts=3)
    >>> JobKind("pairing.tick", tick, every=timedelta(seconds=30))   # recurring
    """

    name: str
    run: Callable[[JobContext], Awaitable[None]]
    max_attempts: int = 5
    every: timedelta | None = None
    retry_seconds: float = 2.0


@dataclass(frozen=True)
class JobRecord:
    """A job as the jobs view shows it."""

    job_id: UUID
    kind: str
    key: str | None
    state: str
    attempts: int
    max_attempts: int
    run_at: datetime
    owner: str | None
    heartbeat_at: datetime | None
    lease_until: datetime | None
    progress: dict[str, Any] | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


def jobs_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel on which a schema's enqueued jobs wake its workers."""
    return f"tandem_jobs_{schema}"


def owner_name() -> str:
    """Who a worker is, in the jobs view: host (the pod's name on Kubernetes) and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def enqueue(
    connection: asyncpg.Connection | asyncpg.Pool,
    kind: str,
    payload: Mapping[str, Any],
    *,
    key: str | None = None,
    max_attempts: int = 5,
    run_at: datetime | None = None,
    channel: str | None = None,
) -> UUID | None:
    """Record a job, in the caller's transaction when given its connection; returns its id.

    With a `key`, at most one unfinished job of that kind and key exists: enqueueing again while
    one is queued or running returns None and records nothing.
    """
    job_id = uuid4()
    inserted = await connection.fetchval(
        "INSERT INTO jobs (job_id, kind, key, payload, max_attempts, run_at)"
        " VALUES ($1, $2, $3, $4::jsonb, $5, coalesce($6, now())) ON CONFLICT DO NOTHING RETURNING true",
        job_id,
        kind,
        key,
        json.dumps(dict(payload)),
        max_attempts,
        run_at,
    )
    if inserted and channel is not None:
        # Delivered at commit; enqueues are rare, so NOTIFY's commit-time lock costs nothing here.
        await connection.execute("SELECT pg_notify($1, '')", channel)
    return job_id if inserted else None


@dataclass
class JobContext:
    """What a running job knows: its id, payload, attempt, saved progress; how to save more.

    `save_progress` writes only while this run still holds the lease (raises `LeaseLost` otherwise);
    pass the connection of the transaction that makes the job's effects, so both commit together.
    """

    job_id: UUID
    kind: str
    payload: dict[str, Any]
    attempt: int
    progress: dict[str, Any]
    pool: asyncpg.Pool
    lease: int
    extras: dict[str, Any] = field(default_factory=dict)

    async def save_progress(self, progress: Mapping[str, Any], *, connection: asyncpg.Connection | None = None) -> None:
        saved = await (connection or self.pool).fetchval(
            "UPDATE jobs SET progress = $3::jsonb, updated_at = now() WHERE job_id = $1 AND lease = $2"
            " AND state = 'running' RETURNING true",
            self.job_id,
            self.lease,
            json.dumps(dict(progress)),
        )
        if not saved:
            raise LeaseLost(f"job {self.job_id} was taken over by another worker")
        self.progress = dict(progress)

    async def still_leased(self) -> bool:
        held = await self.pool.fetchval(
            "SELECT true FROM jobs WHERE job_id = $1 AND lease = $2 AND state = 'running'", self.job_id, self.lease
        )
        return bool(held)


class JobWorker:
    """Claims and runs a service's due jobs, `concurrency` at a time, until stopped.

    >>> worker = JobWorker(pool, [round_kind, tick_kind], channel="tandem_jobs_pairing")
    >>> task = asyncio.create_task(worker.run())      # ... worker.stop(); await task
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        kinds: Sequence[JobKind],
        *,
        channel: str,
        dsn: str | None = None,
        owner: str | None = None,
        concurrency: int = 2,
        lease_seconds: float = 15.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.pool = pool
        self.kinds = {kind.name: kind for kind in kinds}
        self.channel = channel
        self.dsn = dsn
        self.owner = owner or owner_name()
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.running = False
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def schedule_recurring(self) -> None:
        """Make sure each recurring kind has its next run queued (once, whichever replica boots first)."""
        for kind in self.kinds.values():
            if kind.every is not None:
                await enqueue(self.pool, kind.name, {}, key=kind.name, max_attempts=kind.max_attempts)

    async def run(self) -> None:
        self.running = True
        listener = await self._listen()
        try:
            while not self._stopping.is_set():
                try:
                    claimed = await self._claim_and_start()
                except _UNREACHABLE as error:
                    log.warning("job worker cannot reach PostgreSQL: %r", error)
                    claimed = False
                except Exception:  # never stop claiming: a stopped worker leaves every job waiting
                    log.exception("job worker could not claim jobs; trying again")
                    claimed = False
                if not claimed:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.poll_seconds):
                            await self._wake.wait()
                    self._wake.clear()
        finally:
            self.running = False
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close(timeout=2)

    def stop(self) -> None:
        """Stop claiming; `drain()` hands the running jobs back."""
        self._stopping.set()
        self._wake.set()

    async def drain(self) -> None:
        """Cancel the jobs running here: each is handed back, to be taken at once by another worker."""
        self.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _listen(self) -> asyncpg.Connection | None:
        if self.dsn is None:
            return None
        try:
            connection = await asyncpg.connect(self.dsn)
            await connection.add_listener(self.channel, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as error:  # polling still finds the jobs
            log.warning("job worker listens to nothing (polling only): %r", error)
            return None
        return connection

    async def _claim_and_start(self) -> bool:
        if self._slots.locked():
            await self._slots.acquire()  # wait for a free slot before claiming more
            self._slots.release()
            return True
        row = await self.pool.fetchrow(_CLAIM, list(self.kinds), self.owner, self.lease_seconds)
        if row is None:
            return False
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._run(row), name=f"job-{row['kind']}-{row['job_id']}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, row: asyncpg.Record) -> None:
        kind = self.kinds[row["kind"]]
        context = JobContext(
            job_id=row["job_id"],
            kind=kind.name,
            payload=json.loads(row["payload"]),
            attempt=row["attempts"],
            progress=json.loads(row["progress"]) if row["progress"] else {},
            pool=self.pool,
            lease=row["lease"],
        )
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(context, asyncio.current_task()))
        try:
            await kind.run(context)
        except asyncio.CancelledError:
            await asyncio.shield(self._hand_back(context))
            raise
        except LeaseLost as lost:
            log.warning("job %s %s stopped: %s", kind.name, context.job_id, lost)
            JOB_RUNS.labels(kind.name, "lease_lost").inc()
        except Exception as error:
            log.exception(
                "job %s %s failed (attempt %d/%d)", kind.name, context.job_id, context.attempt, kind.max_attempts
            )
            await self._failed(kind, context, error)
        else:
            await self._succeeded(kind, context)
        finally:
            heartbeat.cancel()
            self._slots.release()

    async def _heartbeat(self, context: JobContext, job: asyncio.Task[Any] | None) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                renewed = await self.pool.fetchval(
                    "UPDATE jobs SET lease_until = now() + make_interval(secs => $3), heartbeat_at = now()"
                    " WHERE job_id = $1 AND lease = $2 AND state = 'running' RETURNING true",
                    context.job_id,
                    context.lease,
                    self.lease_seconds,
                )
            except _UNREACHABLE as error:
                log.warning("job %s heartbeat failed: %r", context.job_id, error)
                continue
            if not renewed:
                log.warning("job %s lost its lease to another worker: stopping it here", context.job_id)
                if job is not None:
                    job.cancel()
                return

    async def _succeeded(self, kind: JobKind, context: JobContext) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            done = await connection.fetchval(
                "UPDATE jobs SET state = 'succeeded', finished_at = now(), updated_at = now(), lease_until = NULL"
                " WHERE job_id = $1 AND lease = $2 AND state = 'running' RETURNING true",
                context.job_id,
                context.lease,
            )
            if done and kind.every is not None:
                await enqueue(
                    connection,
                    kind.name,
                    context.payload,
                    key=kind.name,
                    max_attempts=kind.max_attempts,
                    run_at=await connection.fetchval("SELECT now() + $1::interval", kind.every),
                )
        JOB_RUNS.labels(kind.name, "succeeded").inc()

    async def _failed(self, kind: JobKind, context: JobContext, error: Exception) -> None:
        final = context.attempt >= kind.max_attempts
        await self.pool.execute(
            "UPDATE jobs SET state = $3, last_error = $4, updated_at = now(), lease_until = NULL, owner = NULL,"
            " run_at = now() + make_interval(secs => $5), finished_at = CASE WHEN $3 = 'failed' THEN now() END"
            " WHERE job_id = $1 AND lease = $2 AND state = 'running'",
            context.job_id,
            context.lease,
            "failed" if final else "queued",
            f"{type(error).__name__}: {error}"[:2000],
            kind.retry_seconds * 2 ** (context.attempt - 1),
        )
        JOB_RUNS.labels(kind.name, "failed" if final else "retried").inc()
        if final and kind.every is not None:  # a recurring job never stops recurring
            await enqueue(self.pool, kind.name, context.payload, key=kind.name, max_attempts=kind.max_attempts)

    async def _hand_back(self, context: JobContext) -> None:
        """Stopping: the job goes back to the queue now, without counting this attempt."""
        try:
            await self.pool.execute(
                "UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL, run_at = now(),"
                " attempts = attempts - 1, updated_at = now() WHERE job_id = $1 AND lease = $2 AND state = 'running'",
                context.job_id,
                context.lease,
            )
            JOB_RUNS.labels(context.kind, "handed_back").inc()
            log.info("job %s %s handed back for another worker", context.kind, context.job_id)
        except Exception as error:  # the lease will lapse instead: another worker takes over then
            log.warning("job %s could not be handed back (its lease will lapse): %r", context.job_id, error)

    async def refresh_gauges(self) -> None:
        """Counts by kind and state, and stuck jobs, for /metrics."""
        rows = await self.pool.fetch(
            "SELECT kind, state, count(*) AS n,"
            " count(*) FILTER (WHERE (state = 'running' AND lease_until < now())"
            " OR (state = 'queued' AND run_at < now() - $1::interval)) AS stuck"
            " FROM jobs WHERE state IN ('queued', 'running') OR finished_at > now() - interval '1 day'"
            " GROUP BY kind, state",
            STUCK_QUEUED_AFTER,
        )
        stuck: dict[str, int] = dict.fromkeys(self.kinds, 0)
        seen: set[tuple[str, str]] = set()
        for row in rows:
            JOBS.labels(row["kind"], row["state"]).set(row["n"])
            seen.add((row["kind"], row["state"]))
            stuck[row["kind"]] = stuck.get(row["kind"], 0) + row["stuck"]
        for kind in self.kinds:
            for state in ("queued", "running", "succeeded", "failed"):
                if (kind, state) not in seen:
                    JOBS.labels(kind, state).set(0)
        for kind, count in stuck.items():
            JOBS_STUCK.labels(kind).set(count)


# The due job that was waiting longest: queued and due, or running on a lease that lapsed.
_CLAIM = """
UPDATE jobs SET state = 'running', owner = $2, lease = lease + 1, attempts = attempts + 1,
       lease_until = now() + make_interval(secs => $3), heartbeat_at = now(), updated_at = now()
WHERE job_id = (
    SELECT job_id FROM jobs
    WHERE kind = ANY($1::text[])
      AND ((state = 'queued' AND run_at <= now()) OR (state = 'running' AND lease_until < now()))
    ORDER BY run_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING job_id, kind, payload::text AS payload, attempts, lease, progress::text AS progress
"""


async def list_jobs(
    executor: asyncpg.Pool | asyncpg.Connection, *, state: str | None = None, kind: str | None = None, limit: int = 100
) -> list[JobRecord]:
    """The jobs view: newest first, optionally one state or kind."""
    rows = await executor.fetch(
        "SELECT job_id, kind, key, state, attempts, max_attempts, run_at, owner, heartbeat_at, lease_until,"
        " progress::text AS progress, last_error, created_at, finished_at FROM jobs"
        " WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)"
        " ORDER BY created_at DESC LIMIT $3",
        state,
        kind,
        limit,
    )
    return [
        JobRecord(**{**dict(row), "progress": json.loads(row["progress"]) if row["progress"] else None}) for row in rows
    ]
