"""Sessions' and evaluation's events exactly as the lead's agreed contract names them
(`/work/notes/contracts.md`), every field included, for feeding reporting in tests until those
services land with their own models (then: import theirs instead, as the enrollment and pairing feeds do)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry

__all__ = ["EVALUATION", "SESSIONS", "e", "s"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class s:
    class _Pair(DomainEvent):
        pair_id: UUID
        program_id: UUID
        junior_id: UUID
        senior_id: UUID

    class _Session(_Pair):
        session_id: UUID

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


class SkillLevel(_Part):
    skill: str
    level: int


class SkillImpact(_Part):
    skill: str
    role: str
    n: int
    mean_delta: float | None
    ci_low: float | None
    ci_high: float | None


class Comparison(_Part):
    skill: str
    paired_n: int
    unpaired_n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    statement: str


class e:
    class AssessmentRequested(DomainEvent, type="evaluation.AssessmentRequested", version=1):
        program_id: UUID
        participant_id: UUID
        pair_id: UUID | None
        phase: str
        requested_at: datetime

    class SkillsAssessed(DomainEvent, type="evaluation.SkillsAssessed", version=1):
        program_id: UUID
        participant_id: UUID
        pair_id: UUID | None
        role: str
        phase: str
        by: str
        ratings: tuple[SkillLevel, ...]
        assessed_at: datetime

    class PracticeAdopted(DomainEvent, type="evaluation.PracticeAdopted", version=1):
        practice_id: UUID
        program_id: UUID
        participant_id: UUID
        objective: str
        adopted_on: date

    class PracticeAbandoned(DomainEvent, type="evaluation.PracticeAbandoned", version=1):
        practice_id: UUID
        program_id: UUID
        participant_id: UUID
        abandoned_on: date

    class ObjectiveProgressed(DomainEvent, type="evaluation.ObjectiveProgressed", version=1):
        program_id: UUID
        participant_id: UUID
        objective: str
        percent: int
        at: datetime

    class SessionFeedbackGiven(DomainEvent, type="evaluation.SessionFeedbackGiven", version=1):
        session_id: UUID
        pair_id: UUID
        program_id: UUID
        participant_id: UUID
        usefulness: int
        trust: int
        at: datetime

    class PairFitAnswered(DomainEvent, type="evaluation.PairFitAnswered", version=1):
        pair_id: UUID
        program_id: UUID
        participant_id: UUID
        good_fit: bool
        at: datetime

    class PairFitFailed(DomainEvent, type="evaluation.PairFitFailed", version=1):
        pair_id: UUID
        program_id: UUID
        junior_id: UUID
        senior_id: UUID
        at: datetime

    class SurveyAnswered(DomainEvent, type="evaluation.SurveyAnswered", version=1):
        program_id: UUID
        participant_id: UUID
        satisfaction: int
        recommendation: int
        at: datetime

    class ProgramImpactUpdated(DomainEvent, type="evaluation.ProgramImpactUpdated", version=1):
        program_id: UUID
        computed_at: datetime
        skills: tuple[SkillImpact, ...]
        adopted_share: float | None
        nps: float | None
        completion: float | None
        comparison: tuple[Comparison, ...]


def _models(namespace: type) -> list[type[DomainEvent]]:
    return [
        value
        for name, value in vars(namespace).items()
        if not name.startswith("_") and isinstance(value, type) and issubclass(value, DomainEvent)
    ]


SESSIONS = EventRegistry(_models(s))
EVALUATION = EventRegistry(_models(e))
