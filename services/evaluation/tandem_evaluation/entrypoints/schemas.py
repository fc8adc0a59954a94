"""Response bodies of evaluation's HTTP API: the participant, pair and program views."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel

from tandem_evaluation.domain.events import Phase, Role, SkillComparison, SkillImpact

__all__ = [
    "Asked",
    "FeedbackSummary",
    "FitAnswerPublic",
    "PairEvaluationPublic",
    "ParticipantEvaluationPublic",
    "PracticePublic",
    "ProgramImpactPublic",
    "SessionRating",
    "SkillProgress",
]


class Asked(BaseModel):
    """What the participant is asked and has not answered yet."""

    assessments: list[Phase]
    feedback: list[UUID]  # held sessions awaiting their feedback
    fit: list[UUID]  # pairs awaiting their "is this a good fit?"
    survey: bool


class SkillProgress(BaseModel):
    skill: str
    baseline: int | None
    midpoint: int | None
    end: int | None
    delta: int | None  # end minus baseline, their own ratings
    partner_end: int | None


class PracticePublic(BaseModel):
    practice_id: UUID
    objective: str
    adopted_on: date
    abandoned_on: date | None
    description: str | None  # only for the participant themselves; None once erased


class SessionRating(BaseModel):
    session_id: UUID
    usefulness: int
    trust: int


class ParticipantEvaluationPublic(BaseModel):
    participant_id: UUID
    program_id: UUID
    role: Role
    asked: Asked
    skills: list[SkillProgress]
    objectives: dict[str, int]
    practices: list[PracticePublic]
    sessions_planned: int
    sessions_held: int
    feedback_given: list[SessionRating]
    feedback_received: list[SessionRating]
    satisfaction: int | None
    recommendation: int | None


class FitAnswerPublic(BaseModel):
    participant_id: UUID
    good_fit: bool
    at: datetime


class PairEvaluationPublic(BaseModel):
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID
    sessions_held: int
    feedback_count: int
    mean_usefulness: float | None
    mean_trust: float | None
    fit_answers: list[FitAnswerPublic]
    fit_failed_at: datetime | None
    health: str  # not_started | healthy | at_risk | not_a_fit | ended


class FeedbackSummary(BaseModel):
    count: int
    mean_usefulness: float | None
    mean_trust: float | None


class ProgramImpactPublic(BaseModel):
    """Aggregates only: no person can be told apart."""

    program_id: UUID
    evaluated: int
    skills: list[SkillImpact]
    adopted_share: float | None
    nps: float | None
    completion: float | None
    comparison: list[SkillComparison]
    feedback: FeedbackSummary
