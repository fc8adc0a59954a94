"""Commands on one pair's sessions: reschedule (propose, accept, refuse), cancel, add, record the
outcome, and the scheduler's reminders and risk checks.

    session = await sessions.cancel(store, session_id, by=junior_id, reason=CancelReason.WORKLOAD, now=now, metadata=m)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from tandem_kernel.commands import Around, Idempotency, execute
from tandem_kernel.errors import NotFound
from tandem_kernel.events import DomainEvent, EventMetadata
from tandem_kernel.store import EventStore

from tandem_sessions.adapters import ledger
from tandem_sessions.application.booking import Booking
from tandem_sessions.application.streams import SCHEDULES
from tandem_sessions.domain.calendar import Interval
from tandem_sessions.domain.events import CancelReason
from tandem_sessions.domain.schedule import (
    PairSchedule,
    Session,
    decide_accept_reschedule,
    decide_add,
    decide_cancel,
    decide_check_risk,
    decide_held,
    decide_missed,
    decide_propose_reschedule,
    decide_refuse_reschedule,
    decide_remind,
)

__all__ = [
    "accept_reschedule",
    "add",
    "cancel",
    "check_risk",
    "load",
    "pair_of",
    "propose_reschedule",
    "record_held",
    "record_missed",
    "refuse_reschedule",
    "remind",
]

Decision = Callable[[PairSchedule | None], Sequence[DomainEvent]]


async def pair_of(store: EventStore, session_id: UUID) -> UUID:
    """The pair a session belongs to; `NotFound` if there is no such session."""
    pair_id = await ledger.pair_of_session(store.pool, session_id)
    if pair_id is None:
        raise NotFound("no such session")
    return pair_id


async def load(store: EventStore, pair_id: UUID) -> PairSchedule:
    """The pair's schedule; `NotFound` if it has none."""
    schedule = (await SCHEDULES.load(store, pair_id)).state
    if schedule is None:
        raise NotFound("no sessions for this pair")
    return schedule


async def _run(
    store: EventStore,
    pair_id: UUID,
    decide: Decision,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
    around: Around | None = None,
) -> PairSchedule:
    result = await execute(
        store,
        SCHEDULES,
        pair_id,
        decide,
        occurred_at=now,
        metadata=metadata,
        idempotency=idempotency,
        around=around,
    )
    if result.state is None:
        raise NotFound("no sessions for this pair")
    return result.state


async def _session_command(
    store: EventStore,
    session_id: UUID,
    decide: Callable[[PairSchedule | None], Sequence[DomainEvent]],
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None,
    around: Around | None = None,
) -> Session:
    pair_id = await pair_of(store, session_id)
    schedule = await _run(store, pair_id, decide, now=now, metadata=metadata, idempotency=idempotency, around=around)
    return schedule.session(session_id)


def _slot(session: Session) -> Interval:
    return Interval(session.starts_at, session.ends_at)


async def propose_reschedule(
    store: EventStore,
    session_id: UUID,
    *,
    by: UUID,
    starts_at: datetime,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Session:
    """`by` proposes to move the session to `starts_at`: refused (409) in the past, or at a time that
    does not suit both (availability, day off, another of their sessions)."""
    pair_id = await pair_of(store, session_id)
    current = (await load(store, pair_id)).session(session_id)
    duration = timedelta(minutes=current.duration_minutes)
    booking = Booking(pair_id, lambda booking, state: Interval(starts_at, starts_at + duration))

    def decide(state: PairSchedule | None) -> Sequence[DomainEvent]:
        ignoring = _slot(state.session(session_id)) if state is not None else None
        suits = booking.suits(starts_at, duration, ignoring=ignoring)
        return decide_propose_reschedule(state, session_id, by=by, starts_at=starts_at, now=now, suits=suits)

    return await _session_command(
        store, session_id, decide, now=now, metadata=metadata, idempotency=idempotency, around=booking
    )


async def accept_reschedule(
    store: EventStore,
    session_id: UUID,
    *,
    by: UUID,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Session:
    """The other one accepts the proposed time, if it still suits both: the session moves."""

    def span(booking: Booking, state: PairSchedule | None) -> Interval | None:
        session = state.sessions.get(session_id) if state is not None else None
        if session is None or session.proposal is None:
            return None
        return Interval(session.proposal.starts_at, session.proposal.starts_at + (session.ends_at - session.starts_at))

    booking = Booking(await pair_of(store, session_id), span, span_needs_schedule=True)

    def decide(state: PairSchedule | None) -> Sequence[DomainEvent]:
        session = state.sessions.get(session_id) if state is not None else None
        suits = False
        if session is not None and session.proposal is not None:
            duration = session.ends_at - session.starts_at
            suits = booking.suits(session.proposal.starts_at, duration, ignoring=_slot(session))
        return decide_accept_reschedule(state, session_id, by=by, now=now, suits=suits)

    return await _session_command(
        store, session_id, decide, now=now, metadata=metadata, idempotency=idempotency, around=booking
    )


async def refuse_reschedule(
    store: EventStore,
    session_id: UUID,
    *,
    by: UUID,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Session:
    """The other one refuses the proposed time: the session stays where it was."""
    return await _session_command(
        store,
        session_id,
        lambda state: decide_refuse_reschedule(state, session_id, by=by),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )


async def cancel(
    store: EventStore,
    session_id: UUID,
    *,
    by: UUID,
    reason: CancelReason,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Session:
    """One of the two cancels, with a reason (late if less than 24 hours before the start)."""
    return await _session_command(
        store,
        session_id,
        lambda state: decide_cancel(state, session_id, by=by, reason=reason, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )


async def add(
    store: EventStore,
    pair_id: UUID,
    *,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Session:
    """An extra session for the pair, at a time that suits both and clears their other sessions."""
    duration = timedelta(minutes=duration_minutes)
    booking = Booking(pair_id, lambda booking, state: Interval(starts_at, starts_at + duration))
    session_id = uuid4()

    def decide(state: PairSchedule | None) -> Sequence[DomainEvent]:
        suits = booking.suits(starts_at, duration)
        return decide_add(
            state, session_id, starts_at=starts_at, duration_minutes=duration_minutes, now=now, suits=suits
        )

    schedule = await _run(store, pair_id, decide, now=now, metadata=metadata, idempotency=idempotency, around=booking)
    added = [s for s in schedule.sessions.values() if s.extra and s.starts_at == starts_at]
    return schedule.sessions.get(session_id) or added[-1]


async def record_held(
    store: EventStore,
    session_id: UUID,
    *,
    duration_minutes: int,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Session:
    """After its start: the session was held, for `duration_minutes`."""
    return await _session_command(
        store,
        session_id,
        lambda state: decide_held(state, session_id, duration_minutes=duration_minutes, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )


async def record_missed(
    store: EventStore,
    session_id: UUID,
    *,
    absent: Sequence[UUID],
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Session:
    """After its start: a no-show of `absent`."""
    return await _session_command(
        store,
        session_id,
        lambda state: decide_missed(state, session_id, absent=absent, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )


async def remind(store: EventStore, pair_id: UUID, session_id: UUID, *, now: datetime, metadata: EventMetadata) -> bool:
    """Record that the session's reminder is due, if it is; returns whether one was."""
    result = await execute(
        store,
        SCHEDULES,
        pair_id,
        lambda state: decide_remind(state, session_id, now=now),
        occurred_at=now,
        metadata=metadata,
    )
    return bool(result.events)


async def check_risk(
    store: EventStore,
    pair_id: UUID,
    *,
    active_since: datetime,
    cadence: timedelta,
    now: datetime,
    metadata: EventMetadata,
) -> bool:
    """Flag the pair at risk if no session was held in two cadence periods; returns whether it was."""
    result = await execute(
        store,
        SCHEDULES,
        pair_id,
        lambda state: decide_check_risk(state, now=now, active_since=active_since, cadence=cadence),
        occurred_at=now,
        metadata=metadata,
    )
    return bool(result.events)
