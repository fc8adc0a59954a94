"""Tolerant readers of the enrollment events pairing reacts to (topic `tandem.enrollment.v1`).

Each model names only the fields pairing uses, with loose types, and ignores the rest, so enrollment
can add fields without breaking pairing. Personal fields (name, email, goals) arrive sealed and are
not read at all. Types enrollment publishes that pairing does not care about are listed in
`ENROLLMENT_IGNORED_TYPES`, so they are acknowledged rather than dead-lettered. A contract test holds
these models to enrollment's published schema (`services/enrollment/contracts/events.schema.json`).
"""

from __future__ import annotations

from datetime import time
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

from tandem_pairing.domain.participants import MeetingPreference, Role

__all__ = [
    "ENROLLMENT_IGNORED_TYPES",
    "ENROLLMENT_READERS",
    "ENROLLMENT_TOPIC",
    "Availability",
    "ParticipantApproved",
    "ParticipantEnrolled",
    "ParticipantErased",
    "ParticipantProfileUpdated",
    "ParticipantWaitlisted",
    "ParticipantWithdrew",
    "ProgramClosed",
    "ProgramCreated",
    "SkillRating",
    "enrollment_registry",
]

ENROLLMENT_TOPIC = service_topic("enrollment")


class _Reader(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SkillRating(_Part):
    skill: str
    level: int


class Availability(_Part):
    """A weekly slot in the participant's time zone; an `end` of 00:00 is midnight at the day's end."""

    weekday: int
    start: time
    end: time


class ProgramCreated(_Reader, type="enrollment.ProgramCreated", version=1):
    """The program's defaults for pairing: session length, rotation period, proposal expiry."""

    program_id: UUID
    session_minutes: int
    rotation_months: int
    proposal_expiry_days: int = 7


class ProgramClosed(_Reader, type="enrollment.ProgramClosed", version=1):
    program_id: UUID


class _ParticipantEvent(_Reader):
    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role


class ParticipantEnrolled(_ParticipantEvent, type="enrollment.ParticipantEnrolled", version=1):
    """An enrollment with the profile pairing matches on; not in the pool until approved."""

    department: str
    site: str
    time_zone: str
    manager_employee_id: str | None = None
    languages: tuple[str, ...]
    skills_offered: tuple[SkillRating, ...] = ()
    skills_wanted: tuple[SkillRating, ...] = ()
    objectives: tuple[str, ...] = ()
    availability: tuple[Availability, ...] = ()
    meeting_preference: MeetingPreference = MeetingPreference.EITHER


class ParticipantApproved(_ParticipantEvent, type="enrollment.ParticipantApproved", version=1):
    """The participant got a place: they join the pool."""


class ParticipantWaitlisted(_ParticipantEvent, type="enrollment.ParticipantWaitlisted", version=1):
    """The participant waits for a place: not in the pool (yet)."""


class ParticipantWithdrew(_ParticipantEvent, type="enrollment.ParticipantWithdrew", version=1):
    """The participant left: out of the pool, their proposal withdrawn, their pair ended."""


class ParticipantErased(_ParticipantEvent, type="enrollment.ParticipantErased", version=1):
    """The participant's data was erased: pairing forgets their profile."""


class ParticipantProfileUpdated(_ParticipantEvent, type="enrollment.ParticipantProfileUpdated", version=1):
    """Only `changed_fields` are meaningful; fields pairing does not match on are ignored."""

    changed_fields: tuple[str, ...]
    department: str | None = None
    site: str | None = None
    time_zone: str | None = None
    manager_employee_id: str | None = None
    languages: tuple[str, ...] | None = None
    skills_offered: tuple[SkillRating, ...] | None = None
    skills_wanted: tuple[SkillRating, ...] | None = None
    objectives: tuple[str, ...] | None = None
    availability: tuple[Availability, ...] | None = None
    meeting_preference: MeetingPreference | None = None


ENROLLMENT_READERS: tuple[type[DomainEvent], ...] = (
    ProgramCreated,
    ProgramClosed,
    ParticipantEnrolled,
    ParticipantApproved,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    ParticipantErased,
    ParticipantProfileUpdated,
)

ENROLLMENT_IGNORED_TYPES = frozenset(
    {
        "enrollment.ProgramObjectivesChanged",
        "enrollment.ProgramEligibilityChanged",
        "enrollment.ProgramOpened",
        "enrollment.ProgramStarted",
        # Vetted while waiting for a place: in the pool once a place makes them approved.
        "enrollment.ParticipantVetted",
    }
)
"""Enrollment event types pairing chooses not to read."""


def enrollment_registry() -> EventRegistry:
    """Decodes what pairing reads of the enrollment topic."""
    return EventRegistry(ENROLLMENT_READERS)
