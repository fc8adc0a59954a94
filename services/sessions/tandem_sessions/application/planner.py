"""Planning a pair's sessions: when it becomes active, and again when one of the two changes their
availability, time zone or country.

`replan` is the one command for both: sessions still to come that no longer suit the two are
cancelled (`replanned`), then every cadence period up to the pair's expected end (its rotation
date, or the program's end) that has no session gets one (see `domain.planning`). A pair with no
possible slot is flagged (`PairNeedsAttention`) instead.

    await planner.replan(store, pair_id, now=now, metadata=metadata)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4

import asyncpg
from tandem_kernel.commands import CommandResult, execute
from tandem_kernel.events import DomainEvent, EventMetadata
from tandem_kernel.store import EventStore

from tandem_sessions.adapters import directory
from tandem_sessions.adapters.directory import ActivePair, ProgramTerms
from tandem_sessions.application.booking import Booking, lock_people
from tandem_sessions.application.streams import SCHEDULES
from tandem_sessions.domain import planning
from tandem_sessions.domain.calendar import Interval, Person
from tandem_sessions.domain.events import AttentionReason, CancelReason
from tandem_sessions.domain.schedule import (
    PairSchedule,
    SessionStatus,
    decide_attention,
    decide_plan,
    decide_replan_cancel,
    replay_schedule,
)

__all__ = ["FIRST_SESSION_LEAD", "decide", "pair_span", "replan", "replan_pairs_of"]

FIRST_SESSION_LEAD = timedelta(days=1)
"""No session is planned sooner than this after the pair's activation (or a re-plan)."""


def pair_span(pair: ActivePair, terms: ProgramTerms) -> Interval:
    """From a day after activation (not before the program starts) to the pair's expected end: its
    rotation date or the program's end, whichever comes first."""
    program_start = datetime.combine(terms.start_date, time(0), tzinfo=UTC)
    program_end = datetime.combine(terms.end_date + timedelta(days=1), time(0), tzinfo=UTC)
    start = max(pair.activated_at + FIRST_SESSION_LEAD, program_start)
    return Interval(start, min(pair.rotation_due_at, program_end))


def decide(
    state: PairSchedule | None,
    pair: ActivePair | None,
    terms: ProgramTerms | None,
    people: tuple[Person, Person] | None,
    busy: Sequence[Interval],
    *,
    now: datetime,
) -> list[DomainEvent]:
    """The pair's schedule events as its people (None while one is unknown), program and other
    bookings (`busy`) now stand: unfit sessions cancelled, empty periods planned, or a flag."""
    if pair is None or pair.status != "active" or terms is None or (state is not None and state.closed):
        return []
    if people is None:
        return decide_attention(state, pair.ref, AttentionReason.PROFILE_UNKNOWN, now=now)
    junior, senior = people
    earliest = now + FIRST_SESSION_LEAD
    unfit = [
        session.session_id
        for session in (state.upcoming(earliest) if state is not None else [])
        if not session.extra
        and not (
            junior.fits(session.starts_at, session.ends_at - session.starts_at)
            and senior.fits(session.starts_at, session.ends_at - session.starts_at)
        )
    ]
    events = decide_replan_cancel(state, unfit, now=now)
    current = replay_schedule(events, state)
    kept = [
        session.starts_at
        for session in (current.sessions.values() if current is not None else [])
        if not session.extra
        and not (session.status is SessionStatus.CANCELLED and session.cancel_reason is CancelReason.REPLANNED)
    ]
    span = pair_span(pair, terms)
    outcome = planning.plan(
        junior,
        senior,
        base=span.start,
        until=span.end,
        cadence=timedelta(days=terms.cadence_days),
        duration=timedelta(minutes=terms.session_minutes),
        busy=busy,
        kept=kept,
        earliest=max(earliest, span.start),
    )
    events += decide_plan(current, pair.ref, outcome.starts, duration_minutes=terms.session_minutes, new_id=uuid4)
    if outcome.attention is not None:
        events += decide_attention(replay_schedule(events, state), pair.ref, outcome.attention, now=now)
    return events


def _span(booking: Booking, state: PairSchedule | None) -> Interval | None:
    return None if booking.pair is None or booking.terms is None else pair_span(booking.pair, booking.terms)


async def replan(
    store: EventStore,
    pair_id: UUID,
    *,
    now: datetime,
    metadata: EventMetadata,
    connection: asyncpg.Connection | None = None,
) -> CommandResult[PairSchedule]:
    """Plan (or re-plan) the pair's sessions as its people and program now stand."""
    booking = Booking(pair_id, _span)
    return await execute(
        store,
        SCHEDULES,
        pair_id,
        lambda state: decide(state, booking.pair, booking.terms, booking.people(), booking.busy, now=now),
        occurred_at=now,
        metadata=metadata,
        connection=connection,
        around=booking,
    )


async def replan_pairs_of(
    store: EventStore,
    participant_id: UUID,
    *,
    now: datetime,
    metadata: EventMetadata,
    connection: asyncpg.Connection,
) -> list[UUID]:
    """Re-plan every active pair of `participant_id` in the caller's transaction; the pairs' ids.

    The people of all those pairs are locked first, in one sorted step, as an activation batch
    locks its people: re-planning pair after pair, each taking its own two, would hold one pair's
    people while waiting for the next pair's — the other order from a batch's, and a deadlock."""
    pairs = await directory.active_pairs_of(connection, participant_id)
    if not pairs:  # a new enrollment, mostly: no round trip for no locks
        return []
    await lock_people(connection, [person for pair in pairs for person in (pair.ref.junior_id, pair.ref.senior_id)])
    for pair in pairs:
        await replan(store, pair.ref.pair_id, now=now, metadata=metadata, connection=connection)
    return [pair.ref.pair_id for pair in pairs]
