"""Evaluation's background work: the scheduler's recurring pass (see `scheduler`), as a kernel job."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from tandem_kernel.jobs import JobContext, JobKind
from tandem_kernel.runtime import Runtime

from tandem_evaluation.application import scheduler

__all__ = ["TICK_EVERY", "TICK_JOB", "job_kinds"]

log = logging.getLogger("tandem.evaluation.jobs")

TICK_JOB = "evaluation.tick"
TICK_EVERY = timedelta(seconds=30)


def job_kinds(runtime: Runtime) -> Sequence[JobKind]:
    store = runtime.store
    assert store is not None

    async def tick(context: JobContext) -> None:
        report = await scheduler.tick(store, now=runtime.clock.now())
        if report:
            log.info("scheduler: %s", report)

    return [JobKind(TICK_JOB, tick, every=TICK_EVERY)]
