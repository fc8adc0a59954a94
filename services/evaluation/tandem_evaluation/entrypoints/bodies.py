"""Request bodies of evaluation's HTTP API: each refuses unknown fields and carries a valid example.

Free text (`comment`, `description`, `text`) is sealed with the participant's key and never leaves
the service in an event.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from tandem_evaluation.domain.events import Phase, SkillLevel

__all__ = ["Abandonment", "Assessment", "FitAnswerBody", "PracticeBody", "ProgressBody", "SessionFeedback", "Survey"]

_PERSON = "0b6f2a53-3a8e-5d57-9e43-2c1f4b5d6e7a"
_TEXT = Field(default=None, max_length=2000)


def _request(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class Assessment(BaseModel):
    """Levels (1-5) on skills the participant wanted, for a phase they were asked."""

    model_config = _request({"phase": "baseline", "ratings": [{"skill": "ai_tools", "level": 2}]})

    phase: Phase
    ratings: list[SkillLevel] = Field(min_length=1, max_length=50)


class PracticeBody(BaseModel):
    """A new practice, towards one of the participant's objectives."""

    model_config = _request(
        {"objective": "ai", "adopted_on": "2026-05-04", "description": "I now use an AI assistant weekly"}
    )

    objective: str = Field(min_length=1, max_length=100)
    adopted_on: date
    description: str = Field(min_length=1, max_length=2000)


class Abandonment(BaseModel):
    model_config = _request({"abandoned_on": "2026-06-01"})

    abandoned_on: date


class ProgressBody(BaseModel):
    model_config = _request({"objective": "ai", "percent": 40, "comment": "halfway through the course"})

    objective: str = Field(min_length=1, max_length=100)
    percent: int = Field(ge=0, le=100)
    comment: str | None = _TEXT


class SessionFeedback(BaseModel):
    """Who rates the held session (its junior or senior), how useful it was and how much they trust."""

    model_config = _request({"participant_id": _PERSON, "usefulness": 4, "trust": 5, "comment": "very concrete"})

    participant_id: UUID
    usefulness: int = Field(ge=1, le=5)
    trust: int = Field(ge=1, le=5)
    comment: str | None = _TEXT


class FitAnswerBody(BaseModel):
    model_config = _request({"participant_id": _PERSON, "good_fit": True})

    participant_id: UUID
    good_fit: bool


class Survey(BaseModel):
    model_config = _request({"satisfaction": 4, "recommendation": 9, "text": "more sessions next time"})

    satisfaction: int = Field(ge=1, le=5)
    recommendation: int = Field(ge=0, le=10)
    text: str | None = _TEXT
