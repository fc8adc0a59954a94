"""What people ask enrollment to do. Commands double as HTTP request bodies.

Field constraints reject malformed input at the edge, one error per field. Rules that need a
program or an enrollment's history (consent, eligibility, catalogue, capacity) are the decide
functions' job and raise `DomainError` with the field they concern.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import ConfigDict, field_validator

from tandem_enrollment.domain.eligibility import EligibilityRules
from tandem_enrollment.domain.profile import (
    PROFILE_FIELDS,
    DisplayName,
    EmailAddress,
    JobLevel,
    OrgUnit,
    ParticipantProfile,
    PersonalGoals,
    YearsInCompany,
)
from tandem_enrollment.domain.skills import KnownSkillRatings
from tandem_enrollment.domain.terms import ProgramTerms
from tandem_enrollment.domain.values import (
    EmployeeId,
    KnownCountryCode,
    KnownTimeZoneName,
    Languages,
    MeetingPreference,
    ObjectiveCatalogue,
    ObjectiveCodes,
    Role,
    ValueObject,
    WeeklyAvailability,
    WithdrawalReason,
)

__all__ = [
    "ENROLLMENT_EXAMPLE",
    "ChangeEligibilityRules",
    "ChangeProgramObjectives",
    "CreateProgram",
    "EnrollParticipant",
    "UpdateParticipantProfile",
    "WithdrawParticipant",
]


_OBJECTIVE = {"code": "ai", "title": "Use AI assistants day to day", "theme": "ai"}
_WINDOW = {"weekday": "tue", "start": "09:00", "end": "11:00"}


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    # For the API's readers and for generated tests; every example must be a valid body.
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class CreateProgram(ProgramTerms):
    """Create a program, in draft, on these terms. The caller chooses the new program's id."""

    model_config = _examples(
        {
            "name": "Digital tandems 2026",
            "objectives": [_OBJECTIVE],
            "start_date": "2026-03-02",
            "end_date": "2026-12-18",
            "session_cadence_days": 14,
            "session_minutes": 45,
            "rotation_months": 3,
            "capacity": 36,
            "auto_approve": False,
            "languages": ["en", "fr"],
            "eligibility": {"junior": {"max_years_in_company": 6}, "senior": {"min_job_level": 5}},
        }
    )


class ChangeProgramObjectives(ValueObject):
    """Replace the program's catalogue of objectives."""

    model_config = _examples({"objectives": [_OBJECTIVE]})

    objectives: ObjectiveCatalogue


class ChangeEligibilityRules(ValueObject):
    """Replace the program's eligibility rules."""

    model_config = _examples({"eligibility": {"junior": {"max_job_level": 4}, "senior": {"min_job_level": 5}}})

    eligibility: EligibilityRules


ENROLLMENT_EXAMPLE: dict[str, Any] = {
    "employee_id": "E01001",
    "role": "junior",
    "consent": True,
    "display_name": "Ada Martin",
    "email": "ada.martin@example.com",
    "department": "Finance",
    "site": "Lyon",
    "country": "FR",
    "time_zone": "Europe/Paris",
    "job_level": 2,
    "years_in_company": 1.5,
    "languages": ["fr", "en"],
    "skills_offered": [{"skill": "generative_ai", "level": 4}],
    "skills_wanted": [{"skill": "negotiation", "level": 2}],
    "objectives": ["ai"],
    "availability": [_WINDOW],
    "meeting_preference": "remote",
}
"""A valid enrollment body (without the program id, which comes from the URL)."""


class EnrollParticipant(ParticipantProfile):
    """Enroll an employee in a program as a junior or a senior, with their full profile.

    >>> EnrollParticipant(
    ...     program_id=program_id, employee_id="E1001", role="junior", consent=True,
    ...     display_name="Ada", email="ada@example.com", department="Finance", site="Lyon",
    ...     country="FR", time_zone="Europe/Paris", job_level=2, years_in_company=1.5,
    ...     languages=["fr", "en"], skills_offered=[{"skill": "generative_ai", "level": 4}],
    ...     objectives=["ai"], availability=[{"weekday": "mon", "start": "09:00", "end": "11:00"}],
    ... )
    """

    program_id: UUID
    employee_id: EmployeeId
    role: Role
    # Languages and objectives must come from the program's own (`languages`, `objectives[].code` of
    # GET /programs/{id}): the decide functions check them against the program.
    # Must be true; left to `decide_enroll` so a refusal is a DomainError on `consent`.
    consent: bool
    display_name: DisplayName
    email: EmailAddress
    personal_goals: PersonalGoals | None = None
    country: KnownCountryCode
    time_zone: KnownTimeZoneName
    skills_offered: KnownSkillRatings = ()
    skills_wanted: KnownSkillRatings = ()


# The profile fields that may be absent: the others are needed for pairing or contact.
_CLEARABLE = frozenset({"personal_goals", "manager_employee_id"})


class UpdateParticipantProfile(ValueObject):
    """Change some profile fields (PATCH): only the fields sent are considered.

    Sending `null` clears `manager_employee_id` or `personal_goals`; other fields cannot be cleared.

    >>> UpdateParticipantProfile.model_validate({"site": "Paris", "manager_employee_id": None}).changes()
    {'site': 'Paris', 'manager_employee_id': None}
    """

    model_config = _examples({"site": "Lyon", "availability": [_WINDOW], "manager_employee_id": None})

    display_name: DisplayName | None = None
    email: EmailAddress | None = None
    personal_goals: PersonalGoals | None = None
    department: OrgUnit | None = None
    site: OrgUnit | None = None
    country: KnownCountryCode | None = None
    time_zone: KnownTimeZoneName | None = None
    job_level: JobLevel | None = None
    years_in_company: YearsInCompany | None = None
    manager_employee_id: EmployeeId | None = None
    languages: Languages | None = None
    skills_offered: KnownSkillRatings | None = None
    skills_wanted: KnownSkillRatings | None = None
    objectives: ObjectiveCodes | None = None
    availability: WeeklyAvailability | None = None
    meeting_preference: MeetingPreference | None = None

    @field_validator(*(name for name in PROFILE_FIELDS if name not in _CLEARABLE))
    @classmethod
    def _not_cleared(cls, value: Any) -> Any:
        # Runs only for fields actually sent: omitting a field is fine, sending null is not.
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields that were sent, with their values."""
        return {name: getattr(self, name) for name in type(self).model_fields if name in self.model_fields_set}


class WithdrawParticipant(ValueObject):
    """Leave the program, at any time, optionally saying why."""

    model_config = _examples({"reason": "workload"})

    reason: WithdrawalReason = WithdrawalReason.NOT_GIVEN

    @field_validator("reason")
    @classmethod
    def _not_erasure(cls, reason: WithdrawalReason) -> WithdrawalReason:
        if reason is WithdrawalReason.ERASURE:
            raise ValueError("erasure is requested through erasure, not withdrawal")
        return reason
