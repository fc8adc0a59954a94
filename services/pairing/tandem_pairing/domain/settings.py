"""A program's pairing settings: how much each compatibility component weighs, and the rules of a round."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from enum import StrEnum

__all__ = ["MAX_SESSION_MINUTES", "MIN_SESSION_MINUTES", "PairingSettings", "ScoringWeights", "SitePreference"]

MIN_SESSION_MINUTES, MAX_SESSION_MINUTES = 30, 60
MAX_SCORE = 100.0


class SitePreference(StrEnum):
    """Whether the program wants partners on the same site, on different sites, or does not care."""

    SAME = "same"
    DIFFERENT = "different"
    INDIFFERENT = "indifferent"


@dataclass(frozen=True, slots=True)
class ScoringWeights:
    """Relative weight of each compatibility component; only the ratios matter.

    `junior_teaches` is what the junior offers against what the senior wants (the program's purpose);
    `senior_teaches` is the experience flowing back, weighted lower by default.
    """

    junior_teaches: float = 30.0
    senior_teaches: float = 15.0
    shared_objectives: float = 15.0
    different_departments: float = 10.0
    site: float = 5.0
    availability: float = 15.0
    meeting_mode: float = 10.0

    def __post_init__(self) -> None:
        for component in fields(self):
            if getattr(self, component.name) < 0:
                raise ValueError(f"weight {component.name!r} must not be negative")


@dataclass(frozen=True, slots=True)
class PairingSettings:
    """Everything a round needs besides the pool: weights, session length, site rule, reference week.

    Availability windows are local wall-clock times; `reference_week` (a Monday) is the week whose
    UTC offsets convert them, so daylight-saving time is that of the weeks being planned.

    >>> PairingSettings(reference_week=date(2026, 3, 2), session_minutes=45).max_points.site
    0.0
    """

    reference_week: date
    weights: ScoringWeights = ScoringWeights()
    session_minutes: int = 45
    site_preference: SitePreference = SitePreference.INDIFFERENT

    def __post_init__(self) -> None:
        if self.reference_week.weekday() != 0:
            raise ValueError(f"reference_week must be a Monday, not {self.reference_week:%A}")
        if not MIN_SESSION_MINUTES <= self.session_minutes <= MAX_SESSION_MINUTES:
            raise ValueError(
                f"session length must be {MIN_SESSION_MINUTES}..{MAX_SESSION_MINUTES} minutes, "
                f"not {self.session_minutes}"
            )
        if sum(_as_tuple(self._applicable_weights())) <= 0:
            raise ValueError("at least one applicable weight must be positive")

    @property
    def max_points(self) -> ScoringWeights:
        """The points each component is worth at most: the applicable weights scaled to sum to 100.

        The site component does not apply when the program is indifferent to sites.
        """
        applicable = self._applicable_weights()
        scale = MAX_SCORE / sum(_as_tuple(applicable))
        return ScoringWeights(*(weight * scale for weight in _as_tuple(applicable)))

    def _applicable_weights(self) -> ScoringWeights:
        if self.site_preference is SitePreference.INDIFFERENT:
            return replace(self.weights, site=0.0)
        return self.weights


def _as_tuple(weights: ScoringWeights) -> tuple[float, ...]:
    return tuple(getattr(weights, component.name) for component in fields(weights))
