"""What the routes depend on beyond the kernel's `StoreDep`, `PoolDep`, `MetadataDep`…: the
import jobs this process runs, started as a runtime component."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import Depends
from tandem_kernel.api import RuntimeDep
from tandem_kernel.problems import ServiceUnavailable
from tandem_kernel.runtime import Runtime

from tandem_enrollment.adapters import import_jobs
from tandem_enrollment.application import ImportJobs
from tandem_enrollment.application.imports import INTERRUPTED

__all__ = ["ImportJobsDep", "run_import_jobs"]

# A job not advanced for this long belonged to a process that died without marking it.
ABANDONED_AFTER_SECONDS = 600.0

_running: WeakKeyDictionary[Runtime, ImportJobs] = WeakKeyDictionary()


async def run_import_jobs(runtime: Runtime) -> Callable[[], Awaitable[None]]:
    """Runtime component: this process's import jobs; stopping cancels them (marked failed)."""
    assert runtime.store is not None
    # Half the pool at most, so that HTTP requests still find connections during an import.
    jobs = ImportJobs(runtime.store, concurrency=max(1, runtime.settings.database_pool_max // 2))
    await import_jobs.fail_abandoned(runtime.store.pool, silent_seconds=ABANDONED_AFTER_SECONDS, error=INTERRUPTED)
    _running[runtime] = jobs
    return jobs.stop


def _import_jobs(runtime: RuntimeDep) -> ImportJobs:
    jobs = _running.get(runtime)
    if jobs is None:
        raise ServiceUnavailable("the service is still starting")
    return jobs


ImportJobsDep = Annotated[ImportJobs, Depends(_import_jobs)]
