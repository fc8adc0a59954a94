"""What pairing's routes depend on beyond the kernel's `StoreDep`, `MetadataDep`…: the clock, and the
round runner and scheduler this process runs as runtime components."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import Depends
from tandem_kernel.api import RuntimeDep
from tandem_kernel.problems import ServiceUnavailable
from tandem_kernel.runtime import Runtime

from tandem_pairing.application import RoundRunner, scheduler

__all__ = ["SCHEDULER_INTERVAL_SECONDS", "NowDep", "RoundRunnerDep", "run_rounds", "run_scheduler"]

SCHEDULER_INTERVAL_SECONDS = 60.0

_runners: WeakKeyDictionary[Runtime, RoundRunner] = WeakKeyDictionary()


async def run_rounds(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Runtime component: the rounds this process runs; stopping fails those cut short."""
    assert runtime.store is not None
    runner = RoundRunner(runtime.store)
    _runners[runtime] = runner
    return runner.stop


async def run_scheduler(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Runtime component: reminders, expiries and rotations, every minute."""
    assert runtime.store is not None
    return await scheduler.run_every(SCHEDULER_INTERVAL_SECONDS)(runtime.store)


def _round_runner(runtime: RuntimeDep) -> RoundRunner:
    runner = _runners.get(runtime)
    if runner is None:
        raise ServiceUnavailable("the service is still starting")
    return runner


def _now() -> datetime:
    return datetime.now(UTC)


RoundRunnerDep = Annotated[RoundRunner, Depends(_round_runner)]
NowDep = Annotated[datetime, Depends(_now)]
