"""A program's impact, as pure functions of its participants' outcomes (scipy does the distributions).

- Skill deltas: for each paired participant assessed at baseline and at the end, end minus
  baseline of their own rating, per skill; per skill and role, the mean with its 95 % Student t
  interval (n - 1 degrees of freedom).
- Adopted share: participants with at least one practice adopted and not abandoned, over everyone
  evaluated (asked for a baseline).
- NPS: percentage of promoters (9-10) minus percentage of detractors (0-6) among survey answers.
- Completion: participants who gave their end assessment, over everyone evaluated.
- Comparison: where people were assessed but never paired (waitlist, unmatched), per skill, the
  difference between the paired and the unpaired mean deltas — a difference in differences — with
  its 95 % Welch interval (unequal variances, Welch-Satterthwaite degrees of freedom). Below
  `MIN_GROUP_SIZE` in either group it says so in words and gives no number.

>>> figures = program_impact(outcomes)
>>> figures.skills[0].mean_delta, figures.comparison[0].statement
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from tandem_evaluation.domain.events import Role, SkillComparison, SkillImpact

__all__ = [
    "CONFIDENCE",
    "MIN_GROUP_SIZE",
    "Interval",
    "Outcome",
    "ProgramFigures",
    "compare_groups",
    "mean_interval",
    "net_promoter_score",
    "program_impact",
]

CONFIDENCE = 0.95
MIN_GROUP_SIZE = 5
"""Fewer people than this in either group, and the comparison gives no number, only a statement."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one evaluated participant's answers come to."""

    role: Role
    paired: bool
    baseline: Mapping[str, float] | None = None
    end: Mapping[str, float] | None = None
    adopted: bool = False
    recommendation: int | None = None

    def deltas(self) -> dict[str, float]:
        """End minus baseline, per skill rated at both."""
        if self.baseline is None or self.end is None:
            return {}
        return {skill: self.end[skill] - level for skill, level in self.baseline.items() if skill in self.end}


@dataclass(frozen=True, slots=True)
class Interval:
    n: int
    mean: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class ProgramFigures:
    skills: tuple[SkillImpact, ...] = ()
    adopted_share: float | None = None
    nps: float | None = None
    completion: float | None = None
    comparison: tuple[SkillComparison, ...] = field(default_factory=tuple)


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """The mean and its t interval; no interval below two values, a point when they all agree."""
    n = len(values)
    if n == 0:
        return Interval(0, None, None, None)
    sample = np.asarray(values, dtype=float)
    mean = float(sample.mean())
    if n == 1:
        return Interval(1, mean, None, None)
    sem = float(stats.sem(sample))
    if sem == 0.0:
        return Interval(n, mean, mean, mean)
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sem)
    return Interval(n, mean, float(low), float(high))


def compare_groups(
    skill: str, paired: Sequence[float], unpaired: Sequence[float], confidence: float = CONFIDENCE
) -> SkillComparison:
    """Paired minus unpaired mean deltas on `skill`, with its Welch interval and a plain statement."""
    n_paired, n_unpaired = len(paired), len(unpaired)
    if min(n_paired, n_unpaired) < MIN_GROUP_SIZE:
        statement = (
            f"Too few people to compare on {skill}: {n_paired} paired and {n_unpaired} never paired were assessed"
            f" at baseline and end; at least {MIN_GROUP_SIZE} in each group are needed."
        )
        return SkillComparison(
            skill=skill,
            paired_n=n_paired,
            unpaired_n=n_unpaired,
            estimate=None,
            ci_low=None,
            ci_high=None,
            statement=statement,
        )
    a, b = np.asarray(paired, dtype=float), np.asarray(unpaired, dtype=float)
    estimate = float(a.mean() - b.mean())
    if a.var(ddof=1) == 0.0 and b.var(ddof=1) == 0.0:
        low = high = estimate
    else:
        interval = stats.ttest_ind(a, b, equal_var=False).confidence_interval(confidence)
        low, high = float(interval.low), float(interval.high)
    return SkillComparison(
        skill=skill,
        paired_n=n_paired,
        unpaired_n=n_unpaired,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        statement=_statement(skill, estimate, low, high, n_paired, n_unpaired),
    )


def _statement(skill: str, estimate: float, low: float, high: float, n_paired: int, n_unpaired: int) -> str:
    sizes = f"{n_paired} paired, {n_unpaired} never paired; 95 % CI {low:+.2f} to {high:+.2f}"
    if low > 0:
        return f"Paired people gained {estimate:.2f} points more on {skill} than those never paired ({sizes})."
    if high < 0:
        return f"Paired people gained {-estimate:.2f} points less on {skill} than those never paired ({sizes})."
    return f"No clear difference on {skill} between paired people and those never paired ({sizes})."


def net_promoter_score(recommendations: Sequence[int]) -> float | None:
    if not recommendations:
        return None
    promoters = sum(score >= 9 for score in recommendations)
    detractors = sum(score <= 6 for score in recommendations)
    return 100.0 * (promoters - detractors) / len(recommendations)


def _share(count: int, total: int) -> float | None:
    return None if total == 0 else count / total


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def program_impact(outcomes: Sequence[Outcome]) -> ProgramFigures:
    """Every figure of a program from its evaluated participants' outcomes."""
    by_skill_role: dict[tuple[str, Role], list[float]] = {}
    by_skill_group: dict[str, tuple[list[float], list[float]]] = {}
    for outcome in outcomes:
        for skill, delta in outcome.deltas().items():
            paired, unpaired = by_skill_group.setdefault(skill, ([], []))
            (paired if outcome.paired else unpaired).append(delta)
            if outcome.paired:
                by_skill_role.setdefault((skill, outcome.role), []).append(delta)
    skills = []
    for (skill, role), deltas in sorted(by_skill_role.items()):
        interval = mean_interval(deltas)
        skills.append(
            SkillImpact(
                skill=skill,
                role=role,
                n=interval.n,
                mean_delta=interval.mean,
                ci_low=_finite(interval.low),
                ci_high=_finite(interval.high),
            )
        )
    # A comparison needs a comparison group: people evaluated who were never paired.
    compared = any(not outcome.paired for outcome in outcomes)
    comparison = tuple(
        compare_groups(skill, paired, unpaired) for skill, (paired, unpaired) in sorted(by_skill_group.items())
    )
    total = len(outcomes)
    return ProgramFigures(
        skills=tuple(skills),
        adopted_share=_share(sum(outcome.adopted for outcome in outcomes), total),
        nps=net_promoter_score([o.recommendation for o in outcomes if o.recommendation is not None]),
        completion=_share(sum(outcome.end is not None for outcome in outcomes), total),
        comparison=comparison if compared else (),
    )
