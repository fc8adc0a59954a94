"""Job kinds the kernel's job tests run, importable by a worker in another process."""

from __future__ import annotations

import asyncio
import sys

from tandem_kernel.database import create_pool
from tandem_kernel.jobs import JobContext, JobKind, JobWorker, jobs_channel


async def count_to(context: JobContext) -> None:
    """Counts to `payload.to`, one step a `payload.pace` seconds, saving progress after each step;
    a resumed run goes on from the saved step. Every step is also written to `steps`."""
    done = int(context.progress.get("done", 0))
    for step in range(done + 1, int(context.payload["to"]) + 1):
        await asyncio.sleep(float(context.payload.get("pace", 0)))
        async with context.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO steps (job_id, step, attempt) VALUES ($1, $2, $3)", context.job_id, step, context.attempt
            )
            await context.save_progress({"done": step}, connection=connection)


COUNT = JobKind("test.count", count_to, max_attempts=3)


async def main(dsn: str, schema: str) -> None:
    """A worker of its own, as a replica runs it (the test SIGKILLs it)."""
    pool = await create_pool(dsn, schema)
    worker = JobWorker(pool, [COUNT], channel=jobs_channel(schema), dsn=dsn, lease_seconds=1.0, poll_seconds=0.1)
    print("worker ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
