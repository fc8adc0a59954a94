"""A generated program population with a known true effect, for the impact tests.

Each person has a true baseline level on each skill; by the end everyone drifts by `drift` (what a
year brings anyway), and the paired gain `effect` more. Ratings are the true level plus noise,
rounded and clipped to 1-5. The true difference in differences is `effect` (before clipping; the
levels stay away from the bounds so clipping is rare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tandem_evaluation.domain.events import Role
from tandem_evaluation.domain.impact import Outcome

__all__ = ["Population", "generate"]

SKILLS = ("ai_tools", "social_networks")


@dataclass(frozen=True)
class Population:
    outcomes: list[Outcome]
    effect: float


def generate(
    seed: int,
    *,
    paired: int = 40,
    unpaired: int = 15,
    effect: float = 1.0,
    drift: float = 0.3,
    noise: float = 0.6,
    skills: tuple[str, ...] = SKILLS,
) -> Population:
    rng = np.random.default_rng(seed)
    outcomes = []
    for index in range(paired + unpaired):
        is_paired = index < paired
        baseline: dict[str, float] = {}
        end: dict[str, float] = {}
        for skill in skills:
            true = rng.uniform(1.8, 2.6)
            gain = drift + (effect if is_paired else 0.0)
            # Unrounded ratings keep the true effect exact; the domain takes any numbers.
            baseline[skill] = true + rng.normal(0, noise)
            end[skill] = true + gain + rng.normal(0, noise)
        outcomes.append(
            Outcome(
                role=Role.JUNIOR if index % 2 else Role.SENIOR,
                paired=is_paired,
                baseline=baseline,
                end=end,
                adopted=bool(rng.random() < (0.7 if is_paired else 0.3)),
                recommendation=int(rng.integers(0, 11)) if rng.random() < 0.8 else None,
            )
        )
    return Population(outcomes, effect)
