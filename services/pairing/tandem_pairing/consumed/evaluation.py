"""Tolerant reader of the one evaluation event pairing reacts to (topic `tandem.evaluation.v1`):
`PairFitFailed`, after both people of a pair said it is not a good fit (or one said it twice).

Evaluation's other event types are listed in `EVALUATION_IGNORED_TYPES`, so they are acknowledged.
A contract test holds the reader to evaluation's published schema
(`services/evaluation/contracts/events.schema.json`).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

__all__ = ["EVALUATION_IGNORED_TYPES", "EVALUATION_TOPIC", "PairFitFailed", "evaluation_registry"]

EVALUATION_TOPIC = service_topic("evaluation")


class PairFitFailed(DomainEvent, type="evaluation.PairFitFailed", version=1):
    """The pair is not a good fit: pairing ends it and pairs the two with other people."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


EVALUATION_IGNORED_TYPES = frozenset(
    {
        "evaluation.AssessmentRequested",
        "evaluation.SkillsAssessed",
        "evaluation.PracticeAdopted",
        "evaluation.PracticeAbandoned",
        "evaluation.ObjectiveProgressed",
        "evaluation.SessionFeedbackGiven",
        "evaluation.PairFitAnswered",
        "evaluation.SurveyAnswered",
        "evaluation.ProgramImpactUpdated",
    }
)
"""Evaluation event types pairing chooses not to read."""


def evaluation_registry() -> EventRegistry:
    return EventRegistry([PairFitFailed])
