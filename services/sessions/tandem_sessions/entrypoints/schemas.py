"""Response bodies of sessions' HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from tandem_sessions.application.agendas import Agenda
from tandem_sessions.application.notes import Note
from tandem_sessions.domain.schedule import PairSchedule, Session

__all__ = [
    "AgendaPublic",
    "FeedPublic",
    "NotePublic",
    "PairOverview",
    "PairSessions",
    "ProposalPublic",
    "SessionPublic",
]


class ProposalPublic(BaseModel):
    proposed_by: UUID
    starts_at: datetime


class SessionPublic(BaseModel):
    """One session, as its pair's schedule stands."""

    session_id: UUID
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID
    starts_at: datetime
    ends_at: datetime
    duration_minutes: int
    status: str
    sequence: int
    extra: bool
    proposal: ProposalPublic | None = None
    agenda_items: int
    cancelled_by: UUID | None = None
    cancel_reason: str | None = None
    late: bool
    held_minutes: int | None = None
    absent: list[UUID] = []

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> SessionPublic:
        proposal = (
            ProposalPublic(proposed_by=row["proposed_by"], starts_at=row["proposed_starts_at"])
            if row["proposed_by"] is not None
            else None
        )
        return cls(
            **{k: v for k, v in row.items() if k not in ("proposed_by", "proposed_starts_at")}, proposal=proposal
        )

    @classmethod
    def of(cls, schedule: PairSchedule, session: Session) -> SessionPublic:
        pair = schedule.pair
        proposal = (
            ProposalPublic(proposed_by=session.proposal.by, starts_at=session.proposal.starts_at)
            if session.proposal
            else None
        )
        return cls(
            session_id=session.session_id,
            pair_id=pair.pair_id,
            program_id=pair.program_id,
            junior_id=pair.junior_id,
            senior_id=pair.senior_id,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            duration_minutes=session.duration_minutes,
            status=session.status.value,
            sequence=session.sequence,
            extra=session.extra,
            proposal=proposal,
            agenda_items=session.agenda_items,
            cancelled_by=session.cancelled_by,
            cancel_reason=session.cancel_reason.value if session.cancel_reason else None,
            late=session.late,
            held_minutes=session.held_minutes,
            absent=list(session.absent),
        )


class PairSessions(BaseModel):
    """A pair's sessions in order, and whether it needs attention or is at risk (and why)."""

    pair_id: UUID
    needs_attention: str | None
    at_risk: list[str]
    closed: bool
    sessions: list[SessionPublic]


class AgendaItemPublic(BaseModel):
    text: str
    done: bool


class AgendaPublic(BaseModel):
    """`edited` is false while the agenda is still the one it starts with (seeded or carried over)."""

    session_id: UUID
    items: list[AgendaItemPublic]
    project: str | None
    edited: bool

    @classmethod
    def of(cls, session_id: UUID, agenda: Agenda) -> AgendaPublic:
        items = [AgendaItemPublic(text=item.text, done=item.done) for item in agenda.items]
        return cls(session_id=session_id, items=items, project=agenda.project, edited=agenda.edited)


class NotePublic(BaseModel):
    note_id: UUID
    session_id: UUID
    author_id: UUID
    text: str
    written_at: datetime

    @classmethod
    def of(cls, note: Note) -> NotePublic:
        return cls(
            note_id=note.note_id,
            session_id=note.session_id,
            author_id=note.author_id,
            text=note.text,
            written_at=note.written_at,
        )


class FeedPublic(BaseModel):
    """The participant's secret calendar URL: anyone holding it reads their sessions; issue a new one
    to revoke it."""

    participant_id: UUID
    url: str


class PairOverview(BaseModel):
    """A pair as the program admin follows it: its flags and what its sessions came to."""

    pair_id: UUID
    junior_id: UUID
    senior_id: UUID
    status: str
    needs_attention: str | None
    at_risk: list[str]
    scheduled: int
    held: int
    missed: int
    cancelled: int
    next_session_at: datetime | None
