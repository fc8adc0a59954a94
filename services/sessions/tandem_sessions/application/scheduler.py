"""What falls due with time: reminders a day before each session, and pairs at risk.

`tick(store, now=...)` does one pass and takes `now`, so tests (and a demo on a fast clock) can run
time forward. The service runs it as a recurring job, on one replica at a time; a pass run twice
appends nothing twice: every change is a decision on its stream's current version.

    report = await scheduler.tick(store, now=clock.now())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_sessions.adapters import directory, ledger
from tandem_sessions.application import sessions
from tandem_sessions.domain.schedule import REMINDER_LEAD

__all__ = ["TickReport", "tick"]

BATCH = 500
ACTOR = "sessions-scheduler"


@dataclass
class TickReport:
    reminded: int = 0
    at_risk: int = 0

    def __bool__(self) -> bool:
        return bool(self.reminded or self.at_risk)


async def tick(store: EventStore, *, now: datetime) -> TickReport:
    """One pass at `now`: reminders for sessions starting within a day, then the risk checks."""
    metadata = EventMetadata(actor=ACTOR)
    report = TickReport()
    while due := await ledger.reminders_due(store.pool, now, now + REMINDER_LEAD, BATCH):
        reminded = [
            await sessions.remind(store, pair_id, session_id, now=now, metadata=metadata) for pair_id, session_id in due
        ]
        report.reminded += sum(reminded)
        if not any(reminded):
            break
    after: UUID | None = None
    cadences: dict[UUID, int] = {}
    while page := await directory.active_pairs(store.pool, after, BATCH):
        for pair in page:
            program_id = pair.ref.program_id
            if program_id not in cadences:
                terms = await directory.load_terms(store.pool, program_id)
                cadences[program_id] = terms.cadence_days if terms is not None else 0
            if cadences[program_id] <= 0:
                continue
            flagged = await sessions.check_risk(
                store,
                pair.ref.pair_id,
                active_since=pair.activated_at,
                cadence=timedelta(days=cadences[program_id]),
                now=now,
                metadata=metadata,
            )
            report.at_risk += flagged
        after = page[-1].ref.pair_id
    return report
