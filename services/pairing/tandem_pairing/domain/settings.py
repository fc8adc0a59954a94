"""A program's pairing settings: how much each compatibility component weighs, and the rules of a round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tandem_pairing.domain.score import Weights

__all__ = ["MAX_SESSION_MINUTES", "MIN_SESSION_MINUTES", "PairingSettings", "SitePreference"]

MIN_SESSION_MINUTES, MAX_SESSION_MINUTES = 30, 60
MAX_SCORE = 100.0
DEFAULT_WEIGHTS = Weights()


class SitePreference(StrEnum):
    """Whether the program wants partners on the same site, on different sites, or does not care."""

    SAME = "same"
    DIFFERENT = "different"
    INDIFFERENT = "indifferent"


@dataclass(frozen=True, slots=True)
class PairingSettings:
    """Everything a round needs besides the pool: weights, session length, site rule, reference week.

    Availability windows are local wall-clock times; `reference_week` (a Monday) is the week whose
    UTC offsets convert them, so daylight-saving time is that of the weeks being planned.

    >>> PairingSettings(reference_week=date(2026, 3, 2), session_minutes=45).max_points.site
    0.0
    """

    reference_week: date
    weights: Weights = DEFAULT_WEIGHTS
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
        if self._applicable_weights().total <= 0:
            raise ValueError("at least one applicable weight must be positive")

    @property
    def max_points(self) -> Weights:
        """The points each component is worth at most: the applicable weights scaled to sum to 100.

        The site component does not apply when the program is indifferent to sites.
        """
        applicable = self._applicable_weights()
        return Weights(**applicable.scaled(MAX_SCORE / applicable.total))

    def _applicable_weights(self) -> Weights:
        if self.site_preference is SitePreference.INDIFFERENT:
            return self.weights.model_copy(update={"site": 0.0})
        return self.weights
