"""Tolerant readers of the enrollment events evaluation uses (topic `tandem.enrollment.v1`).

Only the fields evaluation reads, loosely typed, the rest ignored; personal fields are not read. Types
evaluation does not care about are in `ENROLLMENT_IGNORED_TYPES`, so they are acknowledged. A contract
test holds these readers to enrollment's published schema.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

__all__ = [
    "ENROLLMENT_IGNORED_TYPES",
    "ENROLLMENT_READERS",
    "ENROLLMENT_TOPIC",
    "ParticipantApproved",
    "ParticipantEnrolled",
    "ParticipantErased",
    "ParticipantProfileUpdated",
    "ParticipantWaitlisted",
    "ParticipantWithdrew",
    "ProgramClosed",
    "ProgramCreated",
    "ProgramObjectivesChanged",
    "ProgramStarted",
    "enrollment_registry",
]

ENROLLMENT_TOPIC = service_topic("enrollment")


class _Reader(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class WantedSkill(_Part):
    skill: str


class Objective(_Part):
    code: str


class ProgramCreated(_Reader, type="enrollment.ProgramCreated", version=1):
    """The program's dates (the comparison group's timeline) and its catalogue of objectives."""

    program_id: UUID
    start_date: date
    end_date: date
    objectives: tuple[Objective, ...] = ()


class ProgramObjectivesChanged(_Reader, type="enrollment.ProgramObjectivesChanged", version=1):
    program_id: UUID
    objectives: tuple[Objective, ...] = ()


class ProgramStarted(_Reader, type="enrollment.ProgramStarted", version=1):
    program_id: UUID


class ProgramClosed(_Reader, type="enrollment.ProgramClosed", version=1):
    program_id: UUID


class _ParticipantEvent(_Reader):
    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: str


class ParticipantEnrolled(_ParticipantEvent, type="enrollment.ParticipantEnrolled", version=1):
    """Who they are (to know them when they sign in), the skills they want, the objectives they chose."""

    skills_wanted: tuple[WantedSkill, ...] = ()
    objectives: tuple[str, ...] = ()


class ParticipantApproved(_ParticipantEvent, type="enrollment.ParticipantApproved", version=1):
    pass


class ParticipantWaitlisted(_ParticipantEvent, type="enrollment.ParticipantWaitlisted", version=1):
    """Waiting for a place: measured as never paired, unless a pair comes later."""


class ParticipantWithdrew(_ParticipantEvent, type="enrollment.ParticipantWithdrew", version=1):
    pass


class ParticipantErased(_ParticipantEvent, type="enrollment.ParticipantErased", version=1):
    """Their sealed free text here is shredded; their numbers stay, anonymous."""


class ParticipantProfileUpdated(_ParticipantEvent, type="enrollment.ParticipantProfileUpdated", version=1):
    """Only `changed_fields` are meaningful."""

    changed_fields: tuple[str, ...]
    skills_wanted: tuple[WantedSkill, ...] | None = None
    objectives: tuple[str, ...] | None = None


ENROLLMENT_READERS: tuple[type[DomainEvent], ...] = (
    ProgramCreated,
    ProgramObjectivesChanged,
    ProgramStarted,
    ProgramClosed,
    ParticipantEnrolled,
    ParticipantApproved,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    ParticipantErased,
    ParticipantProfileUpdated,
)

ENROLLMENT_IGNORED_TYPES = frozenset(
    {"enrollment.ProgramEligibilityChanged", "enrollment.ProgramOpened", "enrollment.ParticipantVetted"}
)
"""Enrollment event types evaluation chooses not to read."""


def enrollment_registry() -> EventRegistry:
    return EventRegistry(ENROLLMENT_READERS)
