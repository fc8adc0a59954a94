"""A participant's profile: who they are at work, what they offer and want, and when they are free.

Display name, email and personal goals are personal data (`Personal[...]`): the kernel encrypts
them per participant and erasure shreds the key, after which they read back as `None`. That is why
they are optional here, while `EnrollParticipant` requires the first two.
"""

from __future__ import annotations

from typing import Annotated, get_args

from annotated_types import Interval
from pydantic import StringConstraints
from tandem_kernel.privacy import PERSONAL, Personal

from tandem_enrollment.domain.skills import SkillRatings
from tandem_enrollment.domain.values import (
    CountryCode,
    EmployeeId,
    Languages,
    MeetingPreference,
    ObjectiveCodes,
    TimeZoneName,
    ValueObject,
    WeeklyAvailability,
)

__all__ = [
    "PERSONAL_FIELDS",
    "PROFILE_FIELDS",
    "DisplayName",
    "EmailAddress",
    "JobLevel",
    "OrgUnit",
    "ParticipantProfile",
    "PersonalGoals",
    "YearsInCompany",
]

DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
# Deliberately loose: the mail system is the judge of deliverability, this only catches slips.
EmailAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
PersonalGoals = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
OrgUnit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
"""A department or a site name."""
JobLevel = Annotated[int, Interval(ge=0, le=100)]
YearsInCompany = Annotated[float, Interval(ge=0, le=80)]


class ParticipantProfile(ValueObject):
    """Everything a participant tells the program about themselves, as state and events keep it.

    `availability` is in the participant's own `time_zone`; `objectives` are codes from the
    program's catalogue; skills use the shared vocabulary (`skills.SKILLS`).
    """

    display_name: Personal[str] | None = None
    email: Personal[str] | None = None
    personal_goals: Personal[str] | None = None
    department: OrgUnit
    site: OrgUnit
    country: CountryCode
    time_zone: TimeZoneName
    job_level: JobLevel
    years_in_company: YearsInCompany
    manager_employee_id: EmployeeId | None = None
    languages: Languages
    skills_offered: SkillRatings = ()
    skills_wanted: SkillRatings = ()
    objectives: ObjectiveCodes = ()
    availability: WeeklyAvailability = ()
    meeting_preference: MeetingPreference = MeetingPreference.EITHER


def _is_personal(annotation: object) -> bool:
    # `Personal[str] | None` nests the marker inside a union: look through every layer.
    return any(arg is PERSONAL or _is_personal(arg) for arg in get_args(annotation))


PROFILE_FIELDS: tuple[str, ...] = tuple(ParticipantProfile.model_fields)
"""The profile's field names, in declaration order."""

PERSONAL_FIELDS: frozenset[str] = frozenset(
    name for name, field in ParticipantProfile.model_fields.items() if _is_personal(field.annotation)
)
"""The profile fields holding personal data: what erasure blanks."""
