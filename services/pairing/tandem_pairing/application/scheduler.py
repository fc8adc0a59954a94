"""What falls due with time: reminders, expiries and rotations.

`tick(store, now=...)` does one pass and takes `now`, so tests (and ops) can run time forward. The
service runs it as a recurring job (`jobs.TICK_JOB`), on one replica at a time; a pass run twice
would still append nothing twice: every change is a decision on its stream's current version.

    report = await scheduler.tick(store, now=clock.now())
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from tandem_kernel.errors import DomainError
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_pairing.adapters import ledger
from tandem_pairing.application import pairs, rounds
from tandem_pairing.domain.events import RoundKind

__all__ = ["TickReport", "tick"]

log = logging.getLogger("tandem.pairing.scheduler")

BATCH = 500
ACTOR = "pairing-scheduler"


@dataclass
class TickReport:
    """What one pass did."""

    reminded: int = 0
    expired: int = 0
    rotation_rounds: list[UUID] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.reminded or self.expired or self.rotation_rounds)


async def tick(store: EventStore, *, now: datetime) -> TickReport:
    """One pass at `now`: remind, expire, and request rotation rounds for programs whose pairs are due."""
    metadata = EventMetadata(actor=ACTOR)
    report = TickReport()
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
        report.rotation_rounds.append(round_id)  # its job runs it, on whichever replica is free
    return report
