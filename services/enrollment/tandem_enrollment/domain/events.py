"""Everything that happens in enrollment, in the past tense.

Programs are one stream each; so are enrollments (one per program and employee, see
`participant.enrollment_id`). Every participant event names the participant, the program, the
employee and the role, so that subscribers (pairing, sessions, reporting) never call back.

>>> from tandem_kernel.events import EventRegistry
>>> registry = EventRegistry(ENROLLMENT_EVENTS)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from annotated_types import MinLen
from pydantic import AfterValidator
from tandem_kernel.events import DomainEvent, unless_trusted
from tandem_kernel.privacy import Personal

from tandem_enrollment.domain.eligibility import EligibilityRules
from tandem_enrollment.domain.profile import (
    PROFILE_FIELDS,
    JobLevel,
    OrgUnit,
    ParticipantProfile,
    YearsInCompany,
)
from tandem_enrollment.domain.skills import SkillRatings
from tandem_enrollment.domain.terms import ProgramTerms
from tandem_enrollment.domain.values import (
    CountryCode,
    EmployeeId,
    Languages,
    MeetingPreference,
    ObjectiveCatalogue,
    ObjectiveCodes,
    ParticipantStatus,
    Role,
    TimeZoneName,
    WeeklyAvailability,
    WithdrawalReason,
)

__all__ = [
    "ENROLLMENT_EVENTS",
    "ParticipantApproved",
    "ParticipantEnrolled",
    "ParticipantErased",
    "ParticipantEvent",
    "ParticipantProfileUpdated",
    "ParticipantVetted",
    "ParticipantWaitlisted",
    "ParticipantWithdrew",
    "ProgramClosed",
    "ProgramCreated",
    "ProgramEligibilityChanged",
    "ProgramEvent",
    "ProgramObjectivesChanged",
    "ProgramOpened",
    "ProgramStarted",
    "person_subject",
]

# -- programs ----------------------------------------------------------------------------------


class ProgramEvent(DomainEvent):
    """Base of the events of a program's stream."""

    program_id: UUID


class ProgramCreated(ProgramEvent, ProgramTerms, type="enrollment.ProgramCreated", version=1):
    """A program manager created a program, in draft, with all its terms."""


class ProgramObjectivesChanged(ProgramEvent, type="enrollment.ProgramObjectivesChanged", version=1):
    """The catalogue of objectives was replaced (draft or open programs only)."""

    objectives: ObjectiveCatalogue


class ProgramEligibilityChanged(ProgramEvent, type="enrollment.ProgramEligibilityChanged", version=1):
    """The eligibility rules were replaced (draft or open programs only); enrolled people stay."""

    eligibility: EligibilityRules


class ProgramOpened(ProgramEvent, type="enrollment.ProgramOpened", version=1):
    """The program opened for enrollment."""


class ProgramStarted(ProgramEvent, type="enrollment.ProgramStarted", version=1):
    """The program started running: enrollment is over, sessions begin."""


class ProgramClosed(ProgramEvent, type="enrollment.ProgramClosed", version=1):
    """The program ended."""


# -- participants ------------------------------------------------------------------------------


def person_subject(employee_id: str) -> str:
    """The data subject of an employee's personal data, across every program they enroll in.

    Enrollments before this (their events say so in the store) were each their own subject, the
    participant id: erasing a person shreds both.
    """
    return f"employee-{employee_id.upper()}"


class ParticipantEvent(DomainEvent):
    """Base of the events of an enrollment's stream: who, in which program, on which side."""

    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role


class ParticipantEnrolled(ParticipantEvent, ParticipantProfile, type="enrollment.ParticipantEnrolled", version=1):
    """An employee enrolled, with explicit consent, carrying their whole profile.

    `enrolled_at` orders the waitlist (first come, first served).
    """

    enrolled_at: datetime

    def data_subject(self) -> str:
        return person_subject(self.employee_id)


class ParticipantApproved(ParticipantEvent, type="enrollment.ParticipantApproved", version=1):
    """The participant got a place: by a manager, or `automatic` under the program's auto-approve."""

    automatic: bool


class ParticipantWaitlisted(ParticipantEvent, type="enrollment.ParticipantWaitlisted", version=1):
    """The program was full; the participant waits for a place, in `enrolled_at` order.

    Waiting is not being approved: in a program that needs approval, only a participant HR approved
    (`ParticipantVetted`) takes a place that frees; an auto-approving program approves everyone.
    """

    enrolled_at: datetime


class ParticipantVetted(ParticipantEvent, type="enrollment.ParticipantVetted", version=1):
    """The participant was approved while the program was full (by HR, or by the program's
    auto-approval): they keep waiting, and the first place that frees in their turn is theirs.
    Carries no place: `ParticipantApproved` will. `enrolled_at` is their turn."""

    enrolled_at: datetime


class ParticipantWithdrew(ParticipantEvent, type="enrollment.ParticipantWithdrew", version=1):
    """The participant left. If `previous_status` was approved, a place is free again."""

    reason: WithdrawalReason
    previous_status: ParticipantStatus


def _profile_fields(names: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(names) - set(PROFILE_FIELDS))
    if unknown:
        raise ValueError(f"not profile fields: {', '.join(unknown)}")
    return names


class ParticipantProfileUpdated(ParticipantEvent, type="enrollment.ParticipantProfileUpdated", version=1):
    """Some profile fields changed. Only `changed_fields` are meaningful; the others are `None`.

    `changed_fields` tells "changed to None" (a cleared manager, say) from "unchanged".
    """

    changed_fields: Annotated[tuple[str, ...], MinLen(1), AfterValidator(unless_trusted(_profile_fields))]
    display_name: Personal[str] | None = None
    email: Personal[str] | None = None
    personal_goals: Personal[str] | None = None
    department: OrgUnit | None = None
    site: OrgUnit | None = None
    country: CountryCode | None = None
    time_zone: TimeZoneName | None = None
    job_level: JobLevel | None = None
    years_in_company: YearsInCompany | None = None
    manager_employee_id: EmployeeId | None = None
    languages: Languages | None = None
    skills_offered: SkillRatings | None = None
    skills_wanted: SkillRatings | None = None
    objectives: ObjectiveCodes | None = None
    availability: WeeklyAvailability | None = None
    meeting_preference: MeetingPreference | None = None

    def data_subject(self) -> str:
        return person_subject(self.employee_id)


class ParticipantErased(ParticipantEvent, type="enrollment.ParticipantErased", version=1):
    """The participant's personal data was erased (their key shredded). Carries no personal data.

    Erasure concerns the person: every enrollment of the employee is erased together.
    """


ENROLLMENT_EVENTS: tuple[type[DomainEvent], ...] = (
    ProgramCreated,
    ProgramObjectivesChanged,
    ProgramEligibilityChanged,
    ProgramOpened,
    ProgramStarted,
    ProgramClosed,
    ParticipantEnrolled,
    ParticipantApproved,
    ParticipantWaitlisted,
    ParticipantVetted,
    ParticipantWithdrew,
    ParticipantProfileUpdated,
    ParticipantErased,
)
"""Every event this service writes: register them with `EventRegistry(ENROLLMENT_EVENTS)`."""
