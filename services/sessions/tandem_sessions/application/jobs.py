"""Sessions' background work, as the kernel's durable jobs: the scheduler's recurring pass, and
planning the pairs activated since (see `activations`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from tandem_kernel.jobs import JobContext, JobKind
from tandem_kernel.runtime import Runtime

from tandem_sessions.application import activations, scheduler

__all__ = ["TICK_EVERY", "TICK_JOB", "job_kinds"]

log = logging.getLogger("tandem.sessions.jobs")

TICK_JOB = "sessions.tick"
TICK_EVERY = timedelta(seconds=30)


def job_kinds(runtime: Runtime) -> Sequence[JobKind]:
    """The jobs a sessions replica runs."""
    store = runtime.store
    assert store is not None

    async def tick(context: JobContext) -> None:
        # Pairs a finishing planning job could not be woken for (see `activations`) wait no longer than this.
        planned = await activations.plan_all_queued(store, retry_held=True)
        report = await scheduler.tick(store, now=runtime.clock.now())
        if report or planned:
            log.info("scheduler: %s; activated pairs planned late: %d", report, planned)

    async def plan_activated(context: JobContext) -> None:
        if planned := await activations.plan_all_queued(store):
            log.info("planned %d activated pairs", planned)

    return [
        JobKind(TICK_JOB, tick, every=TICK_EVERY),
        JobKind(activations.PLAN_JOB, plan_activated),
    ]
