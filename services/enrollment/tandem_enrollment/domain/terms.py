"""What a program manager decides when creating a program: its terms.

`CreateProgram` is these terms as a request; `ProgramCreated` is these terms plus the program id.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from tandem_enrollment.domain.eligibility import EligibilityRules
from tandem_enrollment.domain.values import Languages, ObjectiveCatalogue, ValueObject

__all__ = ["ProgramTerms"]


class ProgramTerms(ValueObject):
    """A program (cohort) as its manager defines it.

    Sessions recur every `session_cadence_days` (14 for "every two weeks") and last
    `session_minutes`; pairs rotate every `rotation_months`. With a `capacity`, approvals beyond it
    go to the waitlist. `proposal_expiry_days` is how long a pairing proposal stays open.
    """

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""
    objectives: ObjectiveCatalogue = ()
    start_date: date
    end_date: date
    session_cadence_days: int = Field(ge=1, le=90)
    session_minutes: int = Field(ge=30, le=60)
    rotation_months: int = Field(ge=1, le=24)
    capacity: int | None = Field(default=None, ge=1)
    auto_approve: bool = False
    proposal_expiry_days: int = Field(default=7, ge=1, le=60)
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    languages: Languages

    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, end_date: date, info: ValidationInfo) -> date:
        start_date = info.data.get("start_date")
        if start_date is not None and end_date <= start_date:
            raise ValueError("end_date must be after start_date")
        return end_date
