"""The components of the compatibility score, defined once: their names, default weights and bounds.

`compatibility` explains how each component earns its points. Everything that names the components
derives from `ScoreComponents`: the weights a program pairs with (`Weights`, carried by events and
scaled by `PairingSettings.max_points`) and the points a pair earned (`ScoreBreakdown`, carried by
`PairProposed` and returned by `assess`).

>>> Weights().junior_teaches, Weights(availability=40).availability
(30.0, 40.0)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ScoreBreakdown", "ScoreComponents", "Weights"]


class ScoreComponents(BaseModel):
    """One number per component of the score: the one list of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    junior_teaches: float
    senior_teaches: float
    shared_objectives: float
    different_departments: float
    site: float
    availability: float
    meeting_mode: float

    @property
    def total(self) -> float:
        """The sum over every component."""
        return float(sum(getattr(self, name) for name in type(self).model_fields))

    def scaled(self, factor: float) -> dict[str, float]:
        """Every component multiplied by `factor`, by name."""
        return {name: getattr(self, name) * factor for name in type(self).model_fields}


class ScoreBreakdown(ScoreComponents):
    """The points each component earned (0-100 in total): why a pair scored what it did."""

    def rounded(self) -> ScoreBreakdown:
        """The same points to four decimals: what events carry and anyone reads."""
        return ScoreBreakdown(**{name: round(value, 4) for name, value in self.scaled(1.0).items()})


# The default weights: what the program's purpose makes matter most (juniors teaching seniors).
class Weights(ScoreComponents):
    """Relative weight of each compatibility component; only ratios matter."""

    junior_teaches: float = Field(default=30.0, ge=0, le=1000)
    senior_teaches: float = Field(default=15.0, ge=0, le=1000)
    shared_objectives: float = Field(default=15.0, ge=0, le=1000)
    different_departments: float = Field(default=10.0, ge=0, le=1000)
    site: float = Field(default=5.0, ge=0, le=1000)
    availability: float = Field(default=15.0, ge=0, le=1000)
    meeting_mode: float = Field(default=10.0, ge=0, le=1000)
