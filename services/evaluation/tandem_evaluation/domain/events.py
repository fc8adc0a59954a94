"""Everything that happens in evaluation, in the past tense (the agreed contract, topic `tandem.evaluation.v1`).

Three kinds of stream:

- `evaluation-<participant id>`: what one participant was asked and answered: assessment requests,
  skill ratings (their own, and their partner's of them), practices, objective progress, session
  feedback, the end-of-program survey;
- `pair-fit-<pair id>`: the "is this a good fit?" answers of a pair, and its failure;
- `impact-<program id>`: the program's figures each time they change.

Free text (comments, practice descriptions, the survey's open text) never appears in an event: it is
sealed in the service's own table (see `adapters.notes`).

>>> from tandem_kernel.events import EventRegistry
>>> registry = EventRegistry(EVALUATION_EVENTS)
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from tandem_kernel.events import DomainEvent

__all__ = [
    "EVALUATION_EVENTS",
    "AssessmentRequested",
    "Assessor",
    "ObjectiveProgressed",
    "PairFitAnswered",
    "PairFitFailed",
    "Phase",
    "PracticeAbandoned",
    "PracticeAdopted",
    "ProgramImpactUpdated",
    "Role",
    "SessionFeedbackGiven",
    "SkillComparison",
    "SkillImpact",
    "SkillLevel",
    "SkillsAssessed",
    "SurveyAnswered",
]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Phase(StrEnum):
    """When skills are assessed: at the start of the tandem, half-way, and at its end."""

    BASELINE = "baseline"
    MIDPOINT = "midpoint"
    END = "end"


class Role(StrEnum):
    JUNIOR = "junior"
    SENIOR = "senior"


class Assessor(StrEnum):
    """Who rated: the participant themselves, or their partner."""

    SELF = "self"
    PARTNER = "partner"


class SkillLevel(_Value):
    skill: str = Field(min_length=1, max_length=100)
    level: int = Field(ge=1, le=5)


class SkillImpact(_Value):
    """A skill's mean change (end minus baseline) for one role, with its 95 % t confidence interval."""

    skill: str
    role: Role
    n: int
    mean_delta: float | None
    ci_low: float | None
    ci_high: float | None


class SkillComparison(_Value):
    """Paired against never-paired people: the difference of their mean changes (difference in
    differences), with its 95 % Welch interval, the group sizes, and what it says in words."""

    skill: str
    paired_n: int
    unpaired_n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    statement: str


# -- a participant's evaluation -----------------------------------------------------------------


class ParticipantEvaluationEvent(DomainEvent):
    """Base of the events of a participant's evaluation stream."""

    program_id: UUID
    participant_id: UUID


class AssessmentRequested(ParticipantEvaluationEvent, type="evaluation.AssessmentRequested", version=1):
    """The participant is asked to rate their skills for `phase` (the pair, if they have one)."""

    pair_id: UUID | None
    phase: Phase
    requested_at: datetime


class SkillsAssessed(ParticipantEvaluationEvent, type="evaluation.SkillsAssessed", version=1):
    """`participant_id`'s levels on the skills they wanted, rated by themselves or by their partner."""

    pair_id: UUID | None
    role: Role
    phase: Phase
    by: Assessor
    ratings: tuple[SkillLevel, ...]
    assessed_at: datetime


class PracticeAdopted(ParticipantEvaluationEvent, type="evaluation.PracticeAdopted", version=1):
    """A concrete new practice, towards one of the participant's objectives (its description is sealed)."""

    practice_id: UUID
    objective: str
    adopted_on: date


class PracticeAbandoned(ParticipantEvaluationEvent, type="evaluation.PracticeAbandoned", version=1):
    practice_id: UUID
    abandoned_on: date


class ObjectiveProgressed(ParticipantEvaluationEvent, type="evaluation.ObjectiveProgressed", version=1):
    """How far the participant says they are towards an objective (their comment is sealed)."""

    objective: str
    percent: int = Field(ge=0, le=100)
    at: datetime


class SessionFeedbackGiven(ParticipantEvaluationEvent, type="evaluation.SessionFeedbackGiven", version=1):
    """The participant rated a held session (their comment is sealed)."""

    session_id: UUID
    pair_id: UUID
    usefulness: int = Field(ge=1, le=5)
    trust: int = Field(ge=1, le=5)
    at: datetime


class SurveyAnswered(ParticipantEvaluationEvent, type="evaluation.SurveyAnswered", version=1):
    """The end-of-program survey (its open text is sealed)."""

    satisfaction: int = Field(ge=1, le=5)
    recommendation: int = Field(ge=0, le=10)
    at: datetime


# -- a pair's fit -----------------------------------------------------------------------------


class PairFitAnswered(DomainEvent, type="evaluation.PairFitAnswered", version=1):
    """After their first held session, one of the two said whether the pair is a good fit."""

    pair_id: UUID
    program_id: UUID
    participant_id: UUID
    good_fit: bool
    at: datetime


class PairFitFailed(DomainEvent, type="evaluation.PairFitFailed", version=1):
    """Both said "no", or one said it twice: pairing re-pairs the two with other people."""

    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID
    at: datetime


# -- a program's impact -------------------------------------------------------------------------


class ProgramImpactUpdated(DomainEvent, type="evaluation.ProgramImpactUpdated", version=1):
    """The program's figures changed (for reporting). `None` where there is nothing to say yet."""

    program_id: UUID
    computed_at: datetime
    skills: tuple[SkillImpact, ...]
    adopted_share: float | None
    nps: float | None
    completion: float | None
    comparison: tuple[SkillComparison, ...]


EVALUATION_EVENTS: tuple[type[DomainEvent], ...] = (
    AssessmentRequested,
    SkillsAssessed,
    PracticeAdopted,
    PracticeAbandoned,
    ObjectiveProgressed,
    SessionFeedbackGiven,
    PairFitAnswered,
    PairFitFailed,
    SurveyAnswered,
    ProgramImpactUpdated,
)
"""Every event evaluation writes: register them with `EventRegistry(EVALUATION_EVENTS)`."""
