"""What falls due with time: assessment requests (midpoints; the unpaired's baseline once their
program starts; ends on a program's end date), and the programs' impact, published when it changed.

`tick(store, now=...)` does one pass and takes `now` (the kernel's injectable clock in the service),
so tests can run time forward. The service runs it as a recurring job, on one replica at a time; a
pass run twice appends nothing twice (each request is a decision on its stream's current version).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_evaluation.adapters import facts
from tandem_evaluation.application import impact
from tandem_evaluation.application.requests import request_due

__all__ = ["TickReport", "tick"]

ACTOR = "evaluation-scheduler"


@dataclass
class TickReport:
    requested: int = 0
    impacts_published: int = 0

    def __bool__(self) -> bool:
        return bool(self.requested or self.impacts_published)


async def tick(store: EventStore, *, now: datetime) -> TickReport:
    """One pass at `now` over the open programs."""
    metadata = EventMetadata(actor=ACTOR)
    report = TickReport()
    programs = await store.pool.fetch("SELECT program_id, closed_at FROM programs ORDER BY program_id")
    for row in programs:
        if row["closed_at"] is None:
            for participant in await facts.participants_of_program(store.pool, row["program_id"]):
                report.requested += await request_due(store, participant, now=now, metadata=metadata)
        report.impacts_published += await impact.publish_if_changed(
            store, row["program_id"], now=now, metadata=metadata
        )
    return report
