"""What reporting reads of sessions' events (topic `tandem.sessions.v1`), per the contract agreed in
the lead's spec (sessions publishes no schema on main yet): the life of each session, and pairs
flagged at risk or needing attention. No agenda text or notes ever travel in these events."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

from tandem_reporting.consumed._reader import Reader

__all__ = [
    "SESSIONS_IGNORED_TYPES",
    "SESSIONS_READERS",
    "SESSIONS_TOPIC",
    "PairAtRisk",
    "PairNeedsAttention",
    "SessionCancelled",
    "SessionHeld",
    "SessionMissed",
    "SessionRescheduled",
    "SessionScheduled",
    "sessions_registry",
]

SESSIONS_TOPIC = service_topic("sessions")


class _PairEvent(Reader):
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class _SessionEvent(_PairEvent):
    session_id: UUID


class SessionScheduled(_SessionEvent, type="sessions.SessionScheduled", version=1):
    starts_at: datetime


class SessionRescheduled(_SessionEvent, type="sessions.SessionRescheduled", version=1):
    starts_at: datetime


class SessionCancelled(_SessionEvent, type="sessions.SessionCancelled", version=1):
    late: bool = False


class SessionHeld(_SessionEvent, type="sessions.SessionHeld", version=1):
    held_at: datetime


class SessionMissed(_SessionEvent, type="sessions.SessionMissed", version=1):
    pass


class PairAtRisk(_PairEvent, type="sessions.PairAtRisk", version=1):
    reason: str
    detected_at: datetime


class PairNeedsAttention(_PairEvent, type="sessions.PairNeedsAttention", version=1):
    reason: str
    detected_at: datetime


SESSIONS_READERS: tuple[type[DomainEvent], ...] = (
    SessionScheduled,
    SessionRescheduled,
    SessionCancelled,
    SessionHeld,
    SessionMissed,
    PairAtRisk,
    PairNeedsAttention,
)

SESSIONS_IGNORED_TYPES = frozenset(
    {
        "sessions.SessionAgendaUpdated",
        "sessions.SessionReminderDue",
        # Published by sessions beyond the agreed contract (found by the contract test once sessions landed):
        # a proposal to move a session changes nothing until accepted (SessionRescheduled); a closed
        # schedule follows pairing's PairEnded, which reporting reads.
        "sessions.RescheduleProposed",
        "sessions.RescheduleRefused",
        "sessions.PairScheduleClosed",
    }
)


def sessions_registry() -> EventRegistry:
    return EventRegistry(SESSIONS_READERS)
