"""What reporting reads of evaluation's events (topic `tandem.evaluation.v1`), per the contract agreed
in the lead's spec: ratings, feedback, surveys, practices and objectives, and evaluation's own program
impact. Scores only: free text (comments, practice descriptions) never travels in these events, and
every figure reporting derives from them is suppressed for groups under k people (`domain.privacy`)."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

from tandem_reporting.consumed._reader import Part, Reader

__all__ = [
    "EVALUATION_IGNORED_TYPES",
    "EVALUATION_READERS",
    "EVALUATION_TOPIC",
    "ComparisonEstimate",
    "ObjectiveProgressed",
    "PracticeAbandoned",
    "PracticeAdopted",
    "ProgramImpactUpdated",
    "SessionFeedbackGiven",
    "SkillImpact",
    "SkillLevel",
    "SkillsAssessed",
    "SurveyAnswered",
    "evaluation_registry",
]

EVALUATION_TOPIC = service_topic("evaluation")


class SkillLevel(Part):
    skill: str
    level: int


class SkillsAssessed(Reader, type="evaluation.SkillsAssessed", version=1):
    program_id: UUID
    participant_id: UUID
    role: str
    phase: str
    by: str
    ratings: tuple[SkillLevel, ...]
    assessed_at: datetime


class PracticeAdopted(Reader, type="evaluation.PracticeAdopted", version=1):
    practice_id: UUID
    program_id: UUID
    participant_id: UUID
    adopted_on: date


class PracticeAbandoned(Reader, type="evaluation.PracticeAbandoned", version=1):
    practice_id: UUID
    program_id: UUID
    participant_id: UUID
    abandoned_on: date


class ObjectiveProgressed(Reader, type="evaluation.ObjectiveProgressed", version=1):
    program_id: UUID
    participant_id: UUID
    objective: str
    percent: int
    at: datetime


class SessionFeedbackGiven(Reader, type="evaluation.SessionFeedbackGiven", version=1):
    session_id: UUID
    pair_id: UUID
    program_id: UUID
    participant_id: UUID
    usefulness: int
    trust: int
    at: datetime


class SurveyAnswered(Reader, type="evaluation.SurveyAnswered", version=1):
    program_id: UUID
    participant_id: UUID
    satisfaction: int
    recommendation: int
    at: datetime


class SkillImpact(Part):
    skill: str
    role: str
    n: int
    mean_delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class ComparisonEstimate(Part):
    skill: str
    paired_n: int
    unpaired_n: int
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    statement: str = ""


class ProgramImpactUpdated(Reader, type="evaluation.ProgramImpactUpdated", version=1):
    program_id: UUID
    computed_at: datetime
    skills: tuple[SkillImpact, ...] = ()
    adopted_share: float | None = None
    nps: float | None = None
    completion: float | None = None
    comparison: tuple[ComparisonEstimate, ...] = ()


EVALUATION_READERS: tuple[type[DomainEvent], ...] = (
    SkillsAssessed,
    PracticeAdopted,
    PracticeAbandoned,
    ObjectiveProgressed,
    SessionFeedbackGiven,
    SurveyAnswered,
    ProgramImpactUpdated,
)

EVALUATION_IGNORED_TYPES = frozenset(
    {"evaluation.AssessmentRequested", "evaluation.PairFitAnswered", "evaluation.PairFitFailed"}
)


def evaluation_registry() -> EventRegistry:
    return EventRegistry(EVALUATION_READERS)
