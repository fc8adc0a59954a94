"""The sessions events as agreed in the lead's cross-service contract (/work/notes/contracts.md), written
as a producer would write them (every field, `extra="forbid"`), because the sessions service is built in
parallel and its own `services/sessions/contracts/events.schema.json` is not on this branch yet.

`sessions.schema.json` beside this file is generated from these models (`python -m
evaluation.contract.agreed_sessions` from `tests/`); the contract test checks evaluation's readers against
the real published schema as soon as it exists, and against this one until then.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from uuid import UUID

from tandem_kernel.contracts import EventContracts
from tandem_kernel.events import DomainEvent, EventRegistry

__all__ = ["AGREED_SCHEMA", "agreed_contracts"]

AGREED_SCHEMA = Path(__file__).with_name("sessions.schema.json")


class _Session(DomainEvent):
    session_id: UUID
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class _Pair(DomainEvent):
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class SessionScheduled(_Session, type="sessions.SessionScheduled", version=1):
    starts_at: datetime
    duration_minutes: int
    sequence: int
    extra: bool


class SessionRescheduled(_Session, type="sessions.SessionRescheduled", version=1):
    starts_at: datetime
    previous_starts_at: datetime
    sequence: int


class SessionCancelled(_Session, type="sessions.SessionCancelled", version=1):
    reason: str
    cancelled_by: UUID | None
    late: bool
    sequence: int


class SessionAgendaUpdated(_Session, type="sessions.SessionAgendaUpdated", version=1):
    item_count: int


class SessionHeld(_Session, type="sessions.SessionHeld", version=1):
    held_at: datetime
    duration_minutes: int


class SessionMissed(_Session, type="sessions.SessionMissed", version=1):
    absent: tuple[UUID, ...]


class SessionReminderDue(_Session, type="sessions.SessionReminderDue", version=1):
    starts_at: datetime


class PairAtRisk(_Pair, type="sessions.PairAtRisk", version=1):
    reason: str
    detected_at: datetime


class PairNeedsAttention(_Pair, type="sessions.PairNeedsAttention", version=1):
    reason: str
    detected_at: datetime


AGREED_EVENTS: tuple[type[DomainEvent], ...] = (
    SessionScheduled,
    SessionRescheduled,
    SessionCancelled,
    SessionAgendaUpdated,
    SessionHeld,
    SessionMissed,
    SessionReminderDue,
    PairAtRisk,
    PairNeedsAttention,
)


def agreed_contracts() -> EventContracts:
    return EventContracts.of(EventRegistry(AGREED_EVENTS), service="sessions", topic="tandem.sessions.v1")


if __name__ == "__main__":
    AGREED_SCHEMA.write_text(json.dumps(agreed_contracts().events, indent=2, sort_keys=True) + "\n")
