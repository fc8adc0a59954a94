"""Rounds requested over HTTP run in the background of the process that accepted them.

    runner = RoundRunner(store)
    runner.submit(round_id)        # GET /rounds/{id} shows it running, then completed
    await runner.stop()            # on shutdown: a round cut short is failed ("the service stopped")

One round at a time per process: a 40,000-person round keeps a core busy for half a minute.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from tandem_kernel.store import EventStore

from tandem_pairing.application import rounds

__all__ = ["RoundRunner"]

log = logging.getLogger("tandem.pairing.rounds")


class RoundRunner:
    """Runs requested rounds, `concurrency` at a time."""

    def __init__(self, store: EventStore, *, concurrency: int = 1) -> None:
        self.store = store
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, round_id: UUID) -> None:
        task = asyncio.get_running_loop().create_task(self._run(round_id), name=f"round-{round_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, round_id: UUID) -> None:
        async with self._slots:
            try:
                await rounds.run(self.store, round_id)
            except Exception:  # run fails the round itself; this only keeps the task quiet
                log.exception("round %s could not be run", round_id)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
