"""What falls due with time: reminders, expiries, rotations, and rounds whose process died.

`tick(store, now=...)` does one pass and takes `now`, so tests (and ops) can run time forward;
the runtime component calls it every `interval` seconds with the wall clock, on one replica at a
time (an advisory lock), though a pass on two replicas at once would still append nothing twice:
every change is a decision on its stream's current version.

    report = await scheduler.tick(store, now=datetime.now(UTC))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from tandem_kernel.database import advisory_lock_key
from tandem_kernel.errors import DomainError
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_pairing.adapters import ledger
from tandem_pairing.adapters import rounds as rounds_table
from tandem_pairing.application import pairs, rounds
from tandem_pairing.domain.events import RoundKind

__all__ = ["ABANDONED_AFTER", "TickReport", "run_every", "tick"]

log = logging.getLogger("tandem.pairing.scheduler")

ABANDONED_AFTER = timedelta(minutes=10)
"""A round running for this long belongs to a process that died (the largest take about a minute)."""
BATCH = 500
ACTOR = "pairing-scheduler"


@dataclass
class TickReport:
    """What one pass did."""

    reminded: int = 0
    expired: int = 0
    abandoned: int = 0
    rotation_rounds: list[UUID] = field(default_factory=list)


async def tick(store: EventStore, *, now: datetime) -> TickReport:
    """One pass at `now`: fail abandoned rounds, remind, expire, and rotate programs whose pairs are due."""
    metadata = EventMetadata(actor=ACTOR)
    report = TickReport()
    for round_id in await rounds_table.abandoned(store.pool, now - ABANDONED_AFTER):
        if await rounds.fail(store, round_id, "abandoned: its process stopped", now=now, metadata=metadata):
            report.abandoned += 1
    while due := await ledger.reminders_due(store.pool, now, BATCH):
        reminded = [await pairs.remind(store, pair_id, now=now, metadata=metadata) for pair_id in due]
        report.reminded += sum(reminded)
        if not any(reminded):
            break
    while due := await ledger.expiries_due(store.pool, now, BATCH):
        expired = [await pairs.expire(store, pair_id, now=now, metadata=metadata) for pair_id in due]
        report.expired += sum(expired)
        if not any(expired):
            break
    for program_id in await ledger.programs_with_rotations_due(store.pool, now):
        try:
            round_id, _ = await rounds.request(
                store, program_id, RoundKind.ROTATION, now=now, metadata=metadata, rotate_due_by=now
            )
        except DomainError as refused:  # a round is running, or the program closed: next pass
            log.info("rotation of program %s postponed: %s", program_id, refused)
            continue
        await rounds.run(store, round_id, clock=lambda: now)
        report.rotation_rounds.append(round_id)
    return report


def run_every(interval: float) -> Callable[[EventStore], Awaitable[Callable[[], Awaitable[None]]]]:
    """A runtime component's body: tick every `interval` seconds until stopped; returns the stopper."""

    async def start(store: EventStore) -> Callable[[], Awaitable[None]]:
        task = asyncio.get_running_loop().create_task(_loop(store, interval), name="pairing-scheduler")

        async def stop() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        return stop

    return start


async def _loop(store: EventStore, interval: float) -> None:
    lock = advisory_lock_key("pairing-scheduler")
    while True:
        try:
            async with store.pool.acquire() as connection:
                # Session lock on an idle connection: no transaction stays open through the pass.
                if await connection.fetchval("SELECT pg_try_advisory_lock($1)", lock):
                    try:
                        report = await tick(store, now=datetime.now(UTC))
                        if report.reminded or report.expired or report.rotation_rounds or report.abandoned:
                            log.info("scheduler: %s", report)
                    finally:
                        with contextlib.suppress(Exception):
                            await connection.execute("SELECT pg_advisory_unlock($1)", lock)
        except Exception:  # the database is away, say: try again next time
            log.exception("scheduler pass failed")
        await asyncio.sleep(interval)
