"""Tolerant readers of the enrollment events sessions reacts to (topic `tandem.enrollment.v1`).

Each model names only the fields sessions uses (the program's cadence, session length and dates;
a participant's time zone, country, availability, languages and what they want to learn) and
ignores the rest; personal fields arrive sealed and are not read at all. Types sessions does not
care about are listed in `ENROLLMENT_IGNORED_TYPES`, so they are acknowledged rather than
dead-lettered. A contract test holds these models to `services/enrollment/contracts/events.schema.json`.
"""

from __future__ import annotations

from datetime import date, time
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

__all__ = [
    "ENROLLMENT_IGNORED_TYPES",
    "ENROLLMENT_READERS",
    "ENROLLMENT_TOPIC",
    "AvailabilityWindow",
    "ParticipantEnrolled",
    "ParticipantErased",
    "ParticipantProfileUpdated",
    "ParticipantWithdrew",
    "ProgramClosed",
    "ProgramCreated",
    "ProgramObjectivesChanged",
    "enrollment_registry",
]

ENROLLMENT_TOPIC = service_topic("enrollment")


class _Reader(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AvailabilityWindow(_Part):
    """A weekly slot in the participant's time zone; an `end` of 00:00 is midnight at the day's end."""

    weekday: int
    start: time
    end: time


class SkillRating(_Part):
    skill: str


class Objective(_Part):
    code: str
    title: str


class ProgramCreated(_Reader, type="enrollment.ProgramCreated", version=1):
    """How often and how long the program's pairs meet, and when the program runs."""

    program_id: UUID
    session_cadence_days: int
    session_minutes: int
    start_date: date
    end_date: date
    objectives: tuple[Objective, ...] = ()


class ProgramObjectivesChanged(_Reader, type="enrollment.ProgramObjectivesChanged", version=1):
    program_id: UUID
    objectives: tuple[Objective, ...]


class ProgramClosed(_Reader, type="enrollment.ProgramClosed", version=1):
    program_id: UUID


class _ParticipantEvent(_Reader):
    participant_id: UUID
    program_id: UUID
    employee_id: str


class ParticipantEnrolled(_ParticipantEvent, type="enrollment.ParticipantEnrolled", version=1):
    time_zone: str
    country: str
    languages: tuple[str, ...]
    availability: tuple[AvailabilityWindow, ...] = ()
    skills_wanted: tuple[SkillRating, ...] = ()
    objectives: tuple[str, ...] = ()


class ParticipantProfileUpdated(_ParticipantEvent, type="enrollment.ParticipantProfileUpdated", version=1):
    """Only `changed_fields` are meaningful; fields sessions does not plan with are ignored."""

    changed_fields: tuple[str, ...]
    time_zone: str | None = None
    country: str | None = None
    languages: tuple[str, ...] | None = None
    availability: tuple[AvailabilityWindow, ...] | None = None
    skills_wanted: tuple[SkillRating, ...] | None = None
    objectives: tuple[str, ...] | None = None


class ParticipantWithdrew(_ParticipantEvent, type="enrollment.ParticipantWithdrew", version=1):
    """The participant left: their pairs' future sessions are cancelled."""


class ParticipantErased(_ParticipantEvent, type="enrollment.ParticipantErased", version=1):
    """The participant's data was erased: their profile and the notes they wrote go too."""


ENROLLMENT_READERS: tuple[type[DomainEvent], ...] = (
    ProgramCreated,
    ProgramObjectivesChanged,
    ProgramClosed,
    ParticipantEnrolled,
    ParticipantProfileUpdated,
    ParticipantWithdrew,
    ParticipantErased,
)

ENROLLMENT_IGNORED_TYPES = frozenset(
    {
        "enrollment.ProgramEligibilityChanged",
        "enrollment.ProgramOpened",
        "enrollment.ProgramStarted",
        # Admission does not change a schedule: sessions start when pairing activates a pair.
        "enrollment.ParticipantApproved",
        "enrollment.ParticipantWaitlisted",
        "enrollment.ParticipantVetted",
    }
)
"""Enrollment event types sessions chooses not to read."""


def enrollment_registry() -> EventRegistry:
    """Decodes what sessions reads of the enrollment topic."""
    return EventRegistry(ENROLLMENT_READERS)
