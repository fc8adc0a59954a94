"""Asking for assessments when they fall due (see `domain.due`): on a pair's activation and end, a
program's close, and on each pass of the scheduler for what time alone brings (midpoints, the
unpaired's baseline at the program's start).

    await request_due(store, participant, now=now, metadata=metadata, connection=connection)
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from tandem_kernel.commands import execute
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_evaluation.adapters import facts
from tandem_evaluation.application.streams import EVALUATIONS
from tandem_evaluation.domain.due import pair_timeline, phases_due, program_timeline
from tandem_evaluation.domain.evaluation import decide_requests
from tandem_evaluation.domain.facts import ParticipantFacts

__all__ = ["GONE", "request_due"]

GONE = frozenset({"withdrawn", "erased"})
"""Statuses of people who are asked nothing more."""


async def request_due(
    store: EventStore,
    participant: ParticipantFacts,
    *,
    now: datetime,
    metadata: EventMetadata,
    connection: asyncpg.Connection | None = None,
) -> int:
    """Ask `participant` for every assessment due at `now` and not yet asked; returns how many."""
    if participant.status in GONE:
        return 0
    executor = connection or store.pool
    pairs = await facts.pairs_of(executor, participant.participant_id)
    if not pairs and not (participant.status == "waitlisted" or participant.unmatched):
        return 0  # no timeline yet (most approvals): the program need not be read
    program = await facts.load_program(executor, participant.program_id)
    closed = program is not None and program.closed_at is not None and program.closed_at <= now
    if pairs:
        first = pairs[0]
        timeline, pair_id = pair_timeline(first), first.pair_id
        ended = closed or first.ended_at is not None
    elif (participant.status == "waitlisted" or participant.unmatched) and program is not None:
        timeline, pair_id, ended = program_timeline(program), None, closed
    else:
        return 0
    phases = phases_due(timeline, now, ended=ended)
    if not phases:
        return 0

    outcome = await execute(
        store,
        EVALUATIONS,
        participant.participant_id,
        lambda state: decide_requests(state, participant, phases, pair_id=pair_id, now=now),
        metadata=metadata,
        occurred_at=now,
        connection=connection,
    )
    return len(outcome.events)
