"""What reporting reads of enrollment's events (topic `tandem.enrollment.v1`).

Only who enrolled where, in which role and group, and when: the groups HR breaks figures down by.
Personal fields (name, email, goals) arrive sealed and are never read. A contract test holds these
readers to enrollment's published schema (`services/enrollment/contracts/events.schema.json`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

from tandem_reporting.consumed._reader import Reader

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
    "ProgramCreated",
    "enrollment_registry",
]

ENROLLMENT_TOPIC = service_topic("enrollment")


class ProgramCreated(Reader, type="enrollment.ProgramCreated", version=1):
    program_id: UUID
    name: str


class _ParticipantEvent(Reader):
    participant_id: UUID
    program_id: UUID
    role: str


class ParticipantEnrolled(_ParticipantEvent, type="enrollment.ParticipantEnrolled", version=1):
    """The groups a participant counts in: department, site, country, job level."""

    department: str
    site: str
    country: str
    job_level: int
    enrolled_at: datetime


class ParticipantApproved(_ParticipantEvent, type="enrollment.ParticipantApproved", version=1):
    pass


class ParticipantWaitlisted(_ParticipantEvent, type="enrollment.ParticipantWaitlisted", version=1):
    pass


class ParticipantWithdrew(_ParticipantEvent, type="enrollment.ParticipantWithdrew", version=1):
    pass


class ParticipantErased(_ParticipantEvent, type="enrollment.ParticipantErased", version=1):
    """Reporting forgets the participant's groups; they still count, in no group."""


class ParticipantProfileUpdated(_ParticipantEvent, type="enrollment.ParticipantProfileUpdated", version=1):
    """Only `changed_fields` are meaningful."""

    changed_fields: tuple[str, ...]
    department: str | None = None
    site: str | None = None
    country: str | None = None
    job_level: int | None = None


ENROLLMENT_READERS: tuple[type[DomainEvent], ...] = (
    ProgramCreated,
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
        "enrollment.ProgramClosed",
        "enrollment.ParticipantVetted",
    }
)
"""Enrollment event types reporting chooses not to read."""


def enrollment_registry() -> EventRegistry:
    return EventRegistry(ENROLLMENT_READERS)
