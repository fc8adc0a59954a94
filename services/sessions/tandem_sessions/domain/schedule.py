"""A pair's schedule: its sessions, from the first plan to the pair's end.

A session's lifecycle:

    scheduled ──held (after its start)──▶ held
        │  ├──no-show (after its start)──▶ missed
        │  └──cancelled (late if < 24 h before its start)──▶ cancelled
        └──one proposes another time ──▶ the other accepts (rescheduled, still scheduled) or refuses

The schedule closes when the pair ends: its future sessions are cancelled (`pair_ended`), and
nothing is planned or added any more. `sequence` counts the changes a calendar must follow (a new
time, a cancellation): it is the iCalendar SEQUENCE.

Decide functions take the state and what the application knows (`now`, whether a time suits both
people and their other sessions) and return events; `evolve_schedule` folds them. No I/O here.

>>> events = decide_plan(None, pair, starts, duration=timedelta(minutes=45), new_id=uuid4, now=now)
>>> schedule = replay_schedule(events)
>>> decide_cancel(schedule, session_id, by=junior_id, reason=CancelReason.WORKLOAD, now=now)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import reduce
from uuid import UUID

from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent

from tandem_sessions.domain.events import (
    AtRiskReason,
    AttentionReason,
    CancelReason,
    PairAtRisk,
    PairEvent,
    PairNeedsAttention,
    PairScheduleClosed,
    RescheduleProposed,
    RescheduleRefused,
    SessionAgendaUpdated,
    SessionCancelled,
    SessionHeld,
    SessionMissed,
    SessionReminderDue,
    SessionRescheduled,
    SessionScheduled,
)

__all__ = [
    "LATE_NOTICE",
    "REMINDER_LEAD",
    "PairRef",
    "PairSchedule",
    "Session",
    "SessionStatus",
    "decide_accept_reschedule",
    "decide_add",
    "decide_agenda_updated",
    "decide_attention",
    "decide_cancel",
    "decide_check_risk",
    "decide_close",
    "decide_held",
    "decide_missed",
    "decide_plan",
    "decide_propose_reschedule",
    "decide_refuse_reschedule",
    "decide_remind",
    "decide_replan_cancel",
    "evolve_schedule",
    "replay_schedule",
]

LATE_NOTICE = timedelta(hours=24)
"""A cancellation with less notice than this is late."""
REMINDER_LEAD = timedelta(hours=24)
"""How long before a session its reminder is due."""


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    MISSED = "missed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class PairRef:
    """Who a schedule belongs to."""

    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID

    def names(self) -> dict[str, UUID]:
        return {
            "pair_id": self.pair_id,
            "program_id": self.program_id,
            "junior_id": self.junior_id,
            "senior_id": self.senior_id,
        }


@dataclass(frozen=True, slots=True)
class Proposal:
    by: UUID
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    session_id: UUID
    starts_at: datetime
    duration_minutes: int
    extra: bool
    status: SessionStatus = SessionStatus.SCHEDULED
    sequence: int = 0
    proposal: Proposal | None = None
    reminded: bool = False
    agenda_items: int = 0
    cancelled_by: UUID | None = None
    cancel_reason: CancelReason | None = None
    late: bool = False
    held_minutes: int | None = None
    absent: tuple[UUID, ...] = ()

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True, slots=True)
class PairSchedule:
    pair: PairRef
    sessions: dict[UUID, Session] = field(default_factory=dict)
    closed: bool = False
    attention: AttentionReason | None = None
    last_canceller: UUID | None = None
    """Who cancelled last since the last held session (None: nobody, or the system)."""
    last_held_at: datetime | None = None
    flagged: frozenset[AtRiskReason] = frozenset()
    """At-risk reasons raised and not yet cleared by a held session."""

    def session(self, session_id: UUID) -> Session:
        found = self.sessions.get(session_id)
        if found is None:
            raise NotFound("no such session")
        return found

    def in_order(self) -> list[Session]:
        return sorted(self.sessions.values(), key=lambda session: (session.starts_at, str(session.session_id)))

    def upcoming(self, now: datetime) -> list[Session]:
        """Scheduled sessions that have not started yet, in order."""
        return [s for s in self.in_order() if s.status is SessionStatus.SCHEDULED and s.starts_at > now]

    def is_member(self, participant_id: UUID) -> bool:
        return participant_id in (self.pair.junior_id, self.pair.senior_id)

    def partner_of(self, participant_id: UUID) -> UUID:
        return self.pair.senior_id if participant_id == self.pair.junior_id else self.pair.junior_id


# -- evolve ------------------------------------------------------------------------------------------


def _pair_of(event: PairEvent) -> PairRef:
    return PairRef(event.pair_id, event.program_id, event.junior_id, event.senior_id)


def _with_session(schedule: PairSchedule, session: Session) -> PairSchedule:
    return replace(schedule, sessions={**schedule.sessions, session.session_id: session})


def evolve_schedule(state: PairSchedule | None, event: DomainEvent) -> PairSchedule:
    assert isinstance(event, PairEvent), f"not a schedule event: {type(event).__name__}"
    schedule = state if state is not None else PairSchedule(_pair_of(event))
    sessions = schedule.sessions
    match event:
        case SessionScheduled():
            session = Session(event.session_id, event.starts_at, event.duration_minutes, event.extra)
            return replace(_with_session(schedule, session), attention=None)
        case RescheduleProposed():
            proposal = Proposal(event.proposed_by, event.proposed_starts_at)
            return _with_session(schedule, replace(sessions[event.session_id], proposal=proposal))
        case RescheduleRefused():
            return _with_session(schedule, replace(sessions[event.session_id], proposal=None))
        case SessionRescheduled():
            moved = replace(
                sessions[event.session_id],
                starts_at=event.starts_at,
                sequence=event.sequence,
                proposal=None,
                reminded=False,
            )
            return _with_session(schedule, moved)
        case SessionCancelled():
            cancelled = replace(
                sessions[event.session_id],
                status=SessionStatus.CANCELLED,
                sequence=event.sequence,
                proposal=None,
                cancelled_by=event.cancelled_by,
                cancel_reason=event.reason,
                late=event.late,
            )
            canceller = event.cancelled_by if event.cancelled_by is not None else schedule.last_canceller
            return replace(_with_session(schedule, cancelled), last_canceller=canceller)
        case SessionAgendaUpdated():
            return _with_session(schedule, replace(sessions[event.session_id], agenda_items=event.item_count))
        case SessionHeld():
            held = replace(sessions[event.session_id], status=SessionStatus.HELD, held_minutes=event.duration_minutes)
            last = max(filter(None, (schedule.last_held_at, event.held_at)))
            return replace(_with_session(schedule, held), last_canceller=None, last_held_at=last, flagged=frozenset())
        case SessionMissed():
            missed = replace(sessions[event.session_id], status=SessionStatus.MISSED, absent=event.absent)
            return _with_session(schedule, missed)
        case SessionReminderDue():
            return _with_session(schedule, replace(sessions[event.session_id], reminded=True))
        case PairAtRisk():
            return replace(schedule, flagged=schedule.flagged | {event.reason})
        case PairNeedsAttention():
            return replace(schedule, attention=event.reason)
        case PairScheduleClosed():
            return replace(schedule, closed=True)
    raise TypeError(f"not a schedule event: {type(event).__name__}")


def replay_schedule(events: Iterable[DomainEvent], state: PairSchedule | None = None) -> PairSchedule | None:
    return reduce(evolve_schedule, events, state)


# -- decide ------------------------------------------------------------------------------------------


def _open(state: PairSchedule | None) -> PairSchedule:
    if state is None:
        raise NotFound("no sessions for this pair")
    if state.closed:
        raise InvalidTransition("the pair has ended: its schedule is closed")
    return state


def _scheduled(state: PairSchedule, session_id: UUID) -> Session:
    session = state.session(session_id)
    if session.status is not SessionStatus.SCHEDULED:
        raise InvalidTransition(f"the session is {session.status}, not scheduled")
    return session


def _member(state: PairSchedule, participant_id: UUID) -> None:
    if not state.is_member(participant_id):
        raise DomainError("not one of the pair", field="participant_id")


def decide_plan(
    state: PairSchedule | None,
    pair: PairRef,
    starts: Sequence[datetime],
    *,
    duration_minutes: int,
    new_id: Callable[[], UUID],
) -> list[DomainEvent]:
    """The planned sessions; nothing once the schedule is closed."""
    if state is not None and state.closed:
        return []
    return [
        SessionScheduled(
            **pair.names(),
            session_id=new_id(),
            starts_at=start,
            duration_minutes=duration_minutes,
            sequence=0,
            extra=False,
        )
        for start in starts
    ]


def decide_attention(
    state: PairSchedule | None, pair: PairRef, reason: AttentionReason, *, now: datetime
) -> list[DomainEvent]:
    """Flag the pair as needing attention for `reason`, unless it already is for that reason."""
    if (state is not None and (state.closed or state.attention is reason)) or reason is None:
        return []
    return [PairNeedsAttention(**pair.names(), reason=reason, detected_at=now)]


def decide_cancel(
    state: PairSchedule | None,
    session_id: UUID,
    *,
    by: UUID | None,
    reason: CancelReason,
    now: datetime,
) -> list[DomainEvent]:
    """Cancel a scheduled session (`by` one of the two, or None for the system); a participant who
    cancels twice in a row puts the pair at risk."""
    if state is None:
        raise NotFound("no such session")
    session = _scheduled(state, session_id)
    if by is not None:
        _member(state, by)
    late = now > session.starts_at - LATE_NOTICE
    events: list[DomainEvent] = [
        SessionCancelled(
            **state.pair.names(),
            session_id=session_id,
            reason=reason,
            cancelled_by=by,
            late=late,
            sequence=session.sequence + 1,
        )
    ]
    repeated = AtRiskReason.REPEATED_CANCELLATION
    if by is not None and state.last_canceller == by and repeated not in state.flagged:
        events.append(PairAtRisk(**state.pair.names(), reason=repeated, detected_at=now))
    return events


def _check_move(starts_at: datetime, *, now: datetime, suits: bool) -> None:
    if starts_at <= now:
        raise InvalidTransition("a session cannot be moved into the past")
    if not suits:
        raise InvalidTransition(
            "that time is outside the availability of one of the two, on a day off, or over another of their sessions"
        )


def decide_propose_reschedule(
    state: PairSchedule | None,
    session_id: UUID,
    *,
    by: UUID,
    starts_at: datetime,
    now: datetime,
    suits: bool,
) -> list[DomainEvent]:
    """One of the two proposes another time; `suits` says whether it fits both and their other sessions."""
    schedule = _open(state)
    session = _scheduled(schedule, session_id)
    _member(schedule, by)
    if session.starts_at <= now:
        raise InvalidTransition("the session has started: record its outcome instead")
    _check_move(starts_at, now=now, suits=suits)
    return [
        RescheduleProposed(**schedule.pair.names(), session_id=session_id, proposed_by=by, proposed_starts_at=starts_at)
    ]


def decide_accept_reschedule(
    state: PairSchedule | None, session_id: UUID, *, by: UUID, now: datetime, suits: bool
) -> list[DomainEvent]:
    """The other one accepts the proposed time (still suiting both now): the session moves."""
    schedule = _open(state)
    session = _scheduled(schedule, session_id)
    _member(schedule, by)
    if session.proposal is None:
        raise InvalidTransition("no other time was proposed for this session")
    if session.proposal.by == by:
        raise InvalidTransition("the other participant answers a proposal, not the one who made it")
    _check_move(session.proposal.starts_at, now=now, suits=suits)
    return [
        SessionRescheduled(
            **schedule.pair.names(),
            session_id=session_id,
            starts_at=session.proposal.starts_at,
            previous_starts_at=session.starts_at,
            sequence=session.sequence + 1,
        )
    ]


def decide_refuse_reschedule(state: PairSchedule | None, session_id: UUID, *, by: UUID) -> list[DomainEvent]:
    schedule = _open(state)
    session = _scheduled(schedule, session_id)
    _member(schedule, by)
    if session.proposal is None:
        raise InvalidTransition("no other time was proposed for this session")
    if session.proposal.by == by:
        raise InvalidTransition("the other participant answers a proposal, not the one who made it")
    return [RescheduleRefused(**schedule.pair.names(), session_id=session_id, refused_by=by)]


def decide_add(
    state: PairSchedule | None,
    session_id: UUID,
    *,
    starts_at: datetime,
    duration_minutes: int,
    now: datetime,
    suits: bool,
) -> list[DomainEvent]:
    """An extra session, at a time that suits both and their other sessions."""
    schedule = _open(state)
    _check_move(starts_at, now=now, suits=suits)
    return [
        SessionScheduled(
            **schedule.pair.names(),
            session_id=session_id,
            starts_at=starts_at,
            duration_minutes=duration_minutes,
            sequence=0,
            extra=True,
        )
    ]


def decide_agenda_updated(state: PairSchedule | None, session_id: UUID, *, item_count: int) -> list[DomainEvent]:
    """The agenda of a session that is not cancelled changed."""
    if state is None:
        raise NotFound("no such session")
    session = state.session(session_id)
    if session.status is SessionStatus.CANCELLED:
        raise InvalidTransition("the session is cancelled")
    return [SessionAgendaUpdated(**state.pair.names(), session_id=session_id, item_count=item_count)]


def _started(session: Session, now: datetime) -> None:
    if now < session.starts_at:
        raise InvalidTransition("the session has not started yet")


def decide_held(
    state: PairSchedule | None, session_id: UUID, *, duration_minutes: int, now: datetime
) -> list[DomainEvent]:
    """After its start, the session is recorded as held, for `duration_minutes`."""
    if state is None:
        raise NotFound("no such session")
    session = _scheduled(state, session_id)
    _started(session, now)
    return [
        SessionHeld(
            **state.pair.names(), session_id=session_id, held_at=session.starts_at, duration_minutes=duration_minutes
        )
    ]


def decide_missed(
    state: PairSchedule | None, session_id: UUID, *, absent: Sequence[UUID], now: datetime
) -> list[DomainEvent]:
    """After its start, the session is recorded as a no-show of `absent` (one or both of the two)."""
    if state is None:
        raise NotFound("no such session")
    session = _scheduled(state, session_id)
    _started(session, now)
    if not absent or any(not state.is_member(person) for person in absent):
        raise DomainError("name who was absent: one or both of the pair", field="absent")
    return [SessionMissed(**state.pair.names(), session_id=session_id, absent=tuple(sorted(set(absent), key=str)))]


def decide_remind(state: PairSchedule | None, session_id: UUID, *, now: datetime) -> list[DomainEvent]:
    """A reminder, once, when a scheduled session starts within `REMINDER_LEAD`."""
    if state is None or session_id not in state.sessions:
        return []
    session = state.sessions[session_id]
    due = session.starts_at - REMINDER_LEAD <= now < session.starts_at
    if session.status is not SessionStatus.SCHEDULED or session.reminded or not due:
        return []
    return [SessionReminderDue(**state.pair.names(), session_id=session_id, starts_at=session.starts_at)]


def decide_check_risk(
    state: PairSchedule | None, *, now: datetime, active_since: datetime, cadence: timedelta
) -> list[DomainEvent]:
    """At risk when no session was held in the last two cadence periods (once, until one is held)."""
    if state is None or state.closed or AtRiskReason.NO_HELD_SESSION in state.flagged:
        return []
    since = max(filter(None, (state.last_held_at, active_since)))
    if now - since < 2 * cadence:
        return []
    return [PairAtRisk(**state.pair.names(), reason=AtRiskReason.NO_HELD_SESSION, detected_at=now)]


def decide_close(state: PairSchedule | None, pair: PairRef, *, now: datetime) -> list[DomainEvent]:
    """The pair ended: every scheduled session not started yet is cancelled, then the schedule closes."""
    if state is not None and state.closed:
        return []
    events: list[DomainEvent] = []
    if state is not None:
        for session in state.upcoming(now):
            events.append(
                SessionCancelled(
                    **pair.names(),
                    session_id=session.session_id,
                    reason=CancelReason.PAIR_ENDED,
                    cancelled_by=None,
                    late=now > session.starts_at - LATE_NOTICE,
                    sequence=session.sequence + 1,
                )
            )
    events.append(PairScheduleClosed(**pair.names(), closed_at=now))
    return events


def decide_replan_cancel(state: PairSchedule | None, unfit: Iterable[UUID], *, now: datetime) -> list[DomainEvent]:
    """Cancel (`replanned`) the planned sessions that no longer suit the two after a profile change."""
    if state is None or state.closed:
        return []
    return [
        SessionCancelled(
            **state.pair.names(),
            session_id=session_id,
            reason=CancelReason.REPLANNED,
            cancelled_by=None,
            late=now > state.sessions[session_id].starts_at - LATE_NOTICE,
            sequence=state.sessions[session_id].sequence + 1,
        )
        for session_id in unfit
    ]
