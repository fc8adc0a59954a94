"""Everything that happens in sessions, in the past tense.

One kind of stream, `schedule-<pair id>`: the sessions of one pair, from the first plan to the end
of the pair. Every session event names the session, the pair, the program and both people, so that
subscribers (notifications, evaluation, reporting) never call back; pair-level events name the pair,
the program and both people. Free text (agenda items, notes) never appears in an event: the agenda
travels as a count, notes stay sealed in this service's tables.

>>> from tandem_kernel.events import EventRegistry
>>> registry = EventRegistry(SESSIONS_EVENTS)
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import Field
from tandem_kernel.events import DomainEvent

__all__ = [
    "SESSIONS_EVENTS",
    "AtRiskReason",
    "AttentionReason",
    "CancelReason",
    "PairAtRisk",
    "PairEvent",
    "PairNeedsAttention",
    "PairScheduleClosed",
    "RescheduleProposed",
    "RescheduleRefused",
    "SessionAgendaUpdated",
    "SessionCancelled",
    "SessionEvent",
    "SessionHeld",
    "SessionMissed",
    "SessionReminderDue",
    "SessionRescheduled",
    "SessionScheduled",
]


class CancelReason(StrEnum):
    """Why a session will not take place: a closed list, since free text could carry personal data."""

    PAIR_ENDED = "pair_ended"
    PARTICIPANT_CANCELLED = "participant_cancelled"
    REPLANNED = "replanned"
    NOT_AVAILABLE = "not_available"
    ILLNESS = "illness"
    WORKLOAD = "workload"
    OTHER = "other"


class AttentionReason(StrEnum):
    """Why a pair got no (or not every) planned session."""

    NO_COMMON_SLOT = "no_common_slot"
    """The two availabilities never overlap on a working day, once both time zones are applied."""
    FULLY_BOOKED = "fully_booked"
    """They overlap, but every common slot is taken by another session of one of the two."""
    PROFILE_UNKNOWN = "profile_unknown"
    """The service has not heard of one of the two (yet): planned when their profile arrives."""
    PAIR_INFEASIBLE = "pair_infeasible"
    """Pairing found the pair breaking a hard rule since a profile changed."""


class AtRiskReason(StrEnum):
    NO_HELD_SESSION = "no_held_session"
    """No session held in the last two cadence periods."""
    REPEATED_CANCELLATION = "repeated_cancellation"
    """The same person cancelled twice in a row."""


class PairEvent(DomainEvent):
    """What every event of a pair's schedule names."""

    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class SessionEvent(PairEvent):
    """What every event about one session names."""

    session_id: UUID


class SessionScheduled(SessionEvent, type="sessions.SessionScheduled", version=1):
    """A session was put in both calendars: planned at the program's cadence, or added (`extra`)."""

    starts_at: datetime
    duration_minutes: int = Field(ge=1, le=600)
    sequence: int = Field(ge=0)
    extra: bool


class RescheduleProposed(SessionEvent, type="sessions.RescheduleProposed", version=1):
    """One of the two proposed another time; the other accepts (SessionRescheduled) or refuses."""

    proposed_by: UUID
    proposed_starts_at: datetime


class RescheduleRefused(SessionEvent, type="sessions.RescheduleRefused", version=1):
    """The other one refused the proposed time: the session stays where it was."""

    refused_by: UUID


class SessionRescheduled(SessionEvent, type="sessions.SessionRescheduled", version=1):
    starts_at: datetime
    previous_starts_at: datetime
    sequence: int = Field(ge=0)


class SessionCancelled(SessionEvent, type="sessions.SessionCancelled", version=1):
    """`late` when cancelled less than 24 hours before the start; `cancelled_by` is None for the system."""

    reason: CancelReason
    cancelled_by: UUID | None
    late: bool
    sequence: int = Field(ge=0)


class SessionAgendaUpdated(SessionEvent, type="sessions.SessionAgendaUpdated", version=1):
    """The agenda changed; its items (free text) stay in the service, only their number travels."""

    item_count: int = Field(ge=0)


class SessionHeld(SessionEvent, type="sessions.SessionHeld", version=1):
    held_at: datetime
    duration_minutes: int = Field(ge=1, le=600)


class SessionMissed(SessionEvent, type="sessions.SessionMissed", version=1):
    """A no-show: `absent` names who did not come (one of the two, or both)."""

    absent: tuple[UUID, ...]


class SessionReminderDue(SessionEvent, type="sessions.SessionReminderDue", version=1):
    """The session starts in about a day: time for notification systems to remind both."""

    starts_at: datetime


class PairAtRisk(PairEvent, type="sessions.PairAtRisk", version=1):
    reason: AtRiskReason
    detected_at: datetime


class PairNeedsAttention(PairEvent, type="sessions.PairNeedsAttention", version=1):
    """Planning found no slot for (some of) the pair's sessions, for `reason`."""

    reason: AttentionReason
    detected_at: datetime


class PairScheduleClosed(PairEvent, type="sessions.PairScheduleClosed", version=1):
    """The pair ended: no session is planned or added any more (its future ones were cancelled)."""

    closed_at: datetime


SESSIONS_EVENTS: tuple[type[DomainEvent], ...] = (
    SessionScheduled,
    RescheduleProposed,
    RescheduleRefused,
    SessionRescheduled,
    SessionCancelled,
    SessionAgendaUpdated,
    SessionHeld,
    SessionMissed,
    SessionReminderDue,
    PairAtRisk,
    PairNeedsAttention,
    PairScheduleClosed,
)
