"""Pairing's background work, as the kernel's durable jobs: requested rounds, and the scheduler's
recurring pass (reminders, expiries, rotations). Any replica carries them out (see
`tandem_kernel.jobs`); a replica that dies mid-round leaves its round to another within a lease."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from tandem_kernel.jobs import JobContext, JobKind
from tandem_kernel.runtime import Runtime

from tandem_pairing.application import rounds, scheduler

__all__ = ["TICK_EVERY", "TICK_JOB", "job_kinds"]

log = logging.getLogger("tandem.pairing.jobs")

TICK_JOB = "pairing.tick"
TICK_EVERY = timedelta(seconds=30)


def job_kinds(runtime: Runtime) -> Sequence[JobKind]:
    """The jobs a pairing replica runs."""
    store = runtime.store
    assert store is not None

    async def run_round(context: JobContext) -> None:
        # Idempotent: a round that is no longer running (completed by an earlier run) is left alone.
        await rounds.run(store, UUID(context.payload["round_id"]), clock=runtime.clock.now)

    async def tick(context: JobContext) -> None:
        report = await scheduler.tick(store, now=runtime.clock.now())
        if report:
            log.info("scheduler: %s", report)

    return [JobKind(rounds.ROUND_JOB, run_round, max_attempts=3), JobKind(TICK_JOB, tick, every=TICK_EVERY)]
