"""What evaluation knows from other services, as the decisions see it: programs, participants, pairs
and held sessions (kept in the service's own tables from enrollment's, pairing's and sessions' events).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from tandem_evaluation.domain.events import Role

__all__ = ["ANSWER_WINDOW", "HeldSession", "PairFacts", "ParticipantFacts", "ProgramFacts"]

ANSWER_WINDOW = timedelta(days=14)
"""How long after a program closes its end assessments and surveys are still taken; later is late."""


@dataclass(frozen=True, slots=True)
class ProgramFacts:
    program_id: UUID
    start_date: date
    end_date: date
    objectives: tuple[str, ...] = ()
    closed_at: datetime | None = None

    def late_at(self) -> datetime | None:
        """From when answers are refused as late (None while the program runs)."""
        return None if self.closed_at is None else self.closed_at + ANSWER_WINDOW


@dataclass(frozen=True, slots=True)
class ParticipantFacts:
    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role
    skills_wanted: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    status: str = "applied"  # enrollment's words: applied, approved, waitlisted, withdrawn, erased
    unmatched: bool = False  # a round left them without a partner


@dataclass(frozen=True, slots=True)
class PairFacts:
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID
    activated_at: datetime
    rotation_due_at: datetime
    ended_at: datetime | None = None

    def partner_of(self, participant_id: UUID) -> UUID | None:
        if participant_id == self.junior_id:
            return self.senior_id
        if participant_id == self.senior_id:
            return self.junior_id
        return None

    def has(self, participant_id: UUID) -> bool:
        return participant_id in (self.junior_id, self.senior_id)


@dataclass(frozen=True, slots=True)
class HeldSession:
    session_id: UUID
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID
    held_at: datetime
