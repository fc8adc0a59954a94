"""Who may enroll in a program, per role.

Juniors are the ones who bring fresh practice: a program may cap their seniority in the company
and/or bound their job level. Seniors are the ones who share experience: a program may require a
minimum job level. A rule left at `None` does not apply.
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from tandem_kernel.errors import DomainError

from tandem_enrollment.domain.values import Role, ValueObject

__all__ = ["EligibilityRules", "JuniorEligibility", "SeniorEligibility"]


class JuniorEligibility(ValueObject):
    """Limits on juniors: years in the company and a job-level range."""

    max_years_in_company: float | None = Field(default=None, ge=0)
    min_job_level: int | None = Field(default=None, ge=0)
    max_job_level: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _range_is_ordered(self) -> Self:
        if (
            self.min_job_level is not None
            and self.max_job_level is not None
            and self.min_job_level > self.max_job_level
        ):
            raise ValueError("min_job_level must not exceed max_job_level")
        return self


class SeniorEligibility(ValueObject):
    """Limits on seniors: a minimum job level."""

    min_job_level: int | None = Field(default=None, ge=0)


class EligibilityRules(ValueObject):
    """A program's eligibility rules for both roles; the default admits everyone.

    >>> rules = EligibilityRules(junior=JuniorEligibility(max_years_in_company=3))
    >>> rules.check(Role.JUNIOR, job_level=2, years_in_company=5)
    Traceback (most recent call last):
    tandem_kernel.errors.DomainError: juniors may have at most 3 years in the company, not 5
    """

    junior: JuniorEligibility = Field(default_factory=JuniorEligibility)
    senior: SeniorEligibility = Field(default_factory=SeniorEligibility)

    def check(self, role: Role, *, job_level: int, years_in_company: float) -> None:
        """Raise `DomainError` on the first rule the employee breaks, naming the offending field."""
        if role is Role.SENIOR:
            minimum = self.senior.min_job_level
            if minimum is not None and job_level < minimum:
                raise DomainError(f"seniors need job level {minimum} or above, not {job_level}", field="job_level")
            return
        junior = self.junior
        if junior.max_years_in_company is not None and years_in_company > junior.max_years_in_company:
            raise DomainError(
                f"juniors may have at most {junior.max_years_in_company:g} years in the company, "
                f"not {years_in_company:g}",
                field="years_in_company",
            )
        if junior.min_job_level is not None and job_level < junior.min_job_level:
            raise DomainError(
                f"juniors need job level {junior.min_job_level} or above, not {job_level}", field="job_level"
            )
        if junior.max_job_level is not None and job_level > junior.max_job_level:
            raise DomainError(
                f"juniors may have job level {junior.max_job_level} at most, not {job_level}", field="job_level"
            )
