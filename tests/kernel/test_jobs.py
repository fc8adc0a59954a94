"""Background jobs outlive the process that started them: leased, taken over, handed back, retried."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from kernel.jobs_for_tests import COUNT
from prometheus_client import REGISTRY
from tandem_kernel.jobs import JobContext, JobKind, JobWorker, LeaseLost, enqueue, jobs_channel, list_jobs
from tandem_kernel.store import EventStore
from tandem_kernel.testing import eventually

CHANNEL = jobs_channel("kernel_test")


@pytest.fixture
async def pool(store: EventStore) -> AsyncIterator[asyncpg.Pool]:
    await store.pool.execute("CREATE TABLE steps (job_id uuid, step int, attempt int)")
    yield store.pool


def worker(pool: asyncpg.Pool, *kinds: JobKind, dsn: str | None = None, lease: float = 1.0) -> JobWorker:
    return JobWorker(pool, kinds or (COUNT,), channel=CHANNEL, dsn=dsn, lease_seconds=lease, poll_seconds=0.05)


async def state(pool: asyncpg.Pool) -> str:
    [job] = await list_jobs(pool)
    return job.state


async def steps(pool: asyncpg.Pool) -> list[tuple[int, int]]:
    return [(row["step"], row["attempt"]) for row in await pool.fetch("SELECT step, attempt FROM steps ORDER BY step")]


async def test_a_job_enqueued_in_a_transaction_that_rolls_back_was_never_asked_for(pool: asyncpg.Pool) -> None:
    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with pool.acquire() as connection, connection.transaction():
            await enqueue(connection, "test.count", {"to": 1})
            raise Refused

    assert await list_jobs(pool) == []


async def test_a_worker_runs_a_due_job_once_and_records_its_progress(pool: asyncpg.Pool, database_url: str) -> None:
    await enqueue(pool, "test.count", {"to": 3}, channel=CHANNEL)
    running = worker(pool, dsn=database_url)
    task = asyncio.create_task(running.run())
    try:
        await eventually(lambda: _state_is(pool, "succeeded"), timeout=10)
    finally:
        running.stop()
        await task

    [job] = await list_jobs(pool)
    assert (job.attempts, job.progress, job.owner is not None) == (1, {"done": 3}, True)
    assert await steps(pool) == [(1, 1), (2, 1), (3, 1)]


async def _state_is(pool: asyncpg.Pool, expected: str) -> bool:
    return await state(pool) == expected


async def test_when_its_process_is_killed_another_worker_takes_the_job_over_and_resumes_it(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await enqueue(pool, "test.count", {"to": 6, "pace": 0.3})
    doomed = subprocess.Popen(  # noqa: ASYNC220 - a replica of its own, started once
        [sys.executable, "-m", "kernel.jobs_for_tests", database_url, "kernel_test"],
        cwd=Path(__file__).parents[1],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        await eventually(lambda: _steps_done(pool, 2), timeout=20)
    finally:
        doomed.kill()  # SIGKILL: no hand-back, no last words
        doomed.wait()
    survivor = worker(pool)
    task = asyncio.create_task(survivor.run())
    try:
        await eventually(lambda: _state_is(pool, "succeeded"), timeout=20)
    finally:
        survivor.stop()
        await task

    done = await steps(pool)
    assert [step for step, _ in done] == [1, 2, 3, 4, 5, 6]  # resumed where it was, nothing twice
    assert {attempt for step, attempt in done if step > 3} == {2}  # the takeover is the second attempt
    [job] = await list_jobs(pool)
    assert job.attempts == 2


async def _steps_done(pool: asyncpg.Pool, count: int) -> bool:
    return len(await steps(pool)) >= count


async def test_a_stopped_worker_hands_its_job_back_and_another_takes_it_at_once(pool: asyncpg.Pool) -> None:
    await enqueue(pool, "test.count", {"to": 4, "pace": 0.2})
    first = worker(pool, lease=30.0)  # a lease that would take 30 s to lapse
    first_task = asyncio.create_task(first.run())
    await eventually(lambda: _steps_done(pool, 1), timeout=10)
    await first.drain()
    await first_task
    assert await state(pool) == "queued"

    second = worker(pool, lease=30.0)
    second_task = asyncio.create_task(second.run())
    try:
        await eventually(lambda: _state_is(pool, "succeeded"), timeout=10)
    finally:
        second.stop()
        await second_task
    [job] = await list_jobs(pool)
    assert job.attempts == 1  # handing back is not a failed attempt
    assert [step for step, _ in await steps(pool)] == [1, 2, 3, 4]


async def test_a_failing_job_is_retried_with_backoff_then_failed_with_its_error(pool: asyncpg.Pool) -> None:
    calls = 0

    async def broken(context: JobContext) -> None:
        nonlocal calls
        calls += 1
        raise ValueError(f"cannot do it (call {calls})")

    await enqueue(pool, "test.broken", {}, max_attempts=3)
    running = worker(pool, JobKind("test.broken", broken, max_attempts=3, retry_seconds=0.01))
    task = asyncio.create_task(running.run())
    try:
        await eventually(lambda: _state_is(pool, "failed"), timeout=10)
    finally:
        running.stop()
        await task

    [job] = await list_jobs(pool)
    assert (calls, job.attempts, job.last_error) == (3, 3, "ValueError: cannot do it (call 3)")
    assert REGISTRY.get_sample_value("tandem_job_runs_total", {"kind": "test.broken", "outcome": "failed"}) == 1


async def test_a_recurring_job_queues_its_next_run_once_across_replicas(pool: asyncpg.Pool) -> None:
    ticks = 0

    async def tick(context: JobContext) -> None:
        nonlocal ticks
        ticks += 1

    kind = JobKind("test.tick", tick, every=timedelta(hours=1))
    replicas = [worker(pool, kind), worker(pool, kind)]
    await asyncio.gather(*(replica.schedule_recurring() for replica in replicas))
    tasks = [asyncio.create_task(replica.run()) for replica in replicas]
    try:
        await eventually(lambda: _has_states(pool, ["queued", "succeeded"]), timeout=10)
    finally:
        for replica in replicas:
            replica.stop()
        await asyncio.gather(*tasks)

    assert ticks == 1
    queued = [job for job in await list_jobs(pool) if job.state == "queued"]
    assert len(queued) == 1 and queued[0].run_at > queued[0].created_at + timedelta(minutes=59)


async def _has_states(pool: asyncpg.Pool, expected: list[str]) -> bool:
    return sorted(job.state for job in await list_jobs(pool)) == expected


async def test_a_run_that_lost_its_lease_can_no_longer_save_progress(pool: asyncpg.Pool) -> None:
    await enqueue(pool, "test.count", {"to": 1})
    await pool.execute("UPDATE jobs SET state = 'running', lease = 2")  # another worker holds lease 2
    [job] = await list_jobs(pool)
    stale = JobContext(job.job_id, "test.count", {}, 1, {}, pool, lease=1)

    with pytest.raises(LeaseLost):
        await stale.save_progress({"done": 1})
    assert not await stale.still_leased()


async def test_jobs_running_past_their_lease_are_counted_as_stuck(pool: asyncpg.Pool) -> None:
    await enqueue(pool, "test.count", {"to": 1})
    await pool.execute("UPDATE jobs SET state = 'running', lease_until = now() - interval '1 minute'")

    await worker(pool).refresh_gauges()

    assert REGISTRY.get_sample_value("tandem_jobs_stuck", {"kind": "test.count"}) == 1
    assert REGISTRY.get_sample_value("tandem_jobs", {"kind": "test.count", "state": "running"}) == 1


async def test_a_worker_whose_connections_keep_being_terminated_keeps_claiming_jobs(
    pool: asyncpg.Pool, database_url: str
) -> None:
    # Found by chaos: a connection dropped mid-claim can leave asyncpg's InternalClientError ("another
    # operation is in progress"), which used to end the worker's loop for good, in silence.
    running = worker(pool, dsn=database_url)
    task = asyncio.create_task(running.run())
    admin = await asyncpg.connect(database_url)
    try:
        for _ in range(150):
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'tandem-kernel_test' AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(0.01)
            assert not task.done(), f"the worker stopped: {task.exception()!r}"
        assert running.running

        await enqueue(pool, "test.count", {"to": 2}, channel=CHANNEL)
        await eventually(lambda: _state_is(pool, "succeeded"), timeout=15)
    finally:
        await admin.close()
        running.stop()
        await task
