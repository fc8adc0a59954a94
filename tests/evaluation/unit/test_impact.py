"""The impact figures against an independent computation (plain formulas, not the implementation's
scipy calls), on generated populations with a known true effect; properties of the intervals; and,
as a bounded slow test, the intervals' coverage of the true values over many seeds."""

from __future__ import annotations

import math
from statistics import fmean, stdev

import pytest
from evaluation.unit.population import SKILLS, generate
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import t as student
from tandem_evaluation.domain.events import Role
from tandem_evaluation.domain.impact import (
    MIN_GROUP_SIZE,
    Outcome,
    compare_groups,
    mean_interval,
    net_promoter_score,
    program_impact,
)

# -- independent computations -----------------------------------------------------------------


def t_interval(values: list[float]) -> tuple[float, float, float]:
    n, mean = len(values), fmean(values)
    half = student.ppf(0.975, n - 1) * stdev(values) / math.sqrt(n)
    return mean, mean - half, mean + half


def welch_interval(a: list[float], b: list[float]) -> tuple[float, float, float]:
    va, vb = stdev(a) ** 2 / len(a), stdev(b) ** 2 / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    estimate = fmean(a) - fmean(b)
    half = student.ppf(0.975, df) * math.sqrt(va + vb)
    return estimate, estimate - half, estimate + half


def deltas(outcomes: list[Outcome], skill: str, *, paired: bool, role: Role | None = None) -> list[float]:
    return [
        o.end[skill] - o.baseline[skill]
        for o in outcomes
        if o.paired is paired and (role is None or o.role is role) and o.baseline is not None and o.end is not None
    ]


# -- every figure of a generated program --------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_figure_matches_an_independent_computation(seed: int) -> None:
    population = generate(seed)
    outcomes = population.outcomes

    figures = program_impact(outcomes)

    assert {(s.skill, s.role) for s in figures.skills} == {(k, r) for k in SKILLS for r in Role}
    for found in figures.skills:
        values = deltas(outcomes, found.skill, paired=True, role=found.role)
        mean, low, high = t_interval(values)
        assert found.n == len(values)
        assert found.mean_delta == pytest.approx(mean)
        assert (found.ci_low, found.ci_high) == (pytest.approx(low), pytest.approx(high))
    for compared in figures.comparison:
        paired, unpaired = deltas(outcomes, compared.skill, paired=True), deltas(outcomes, compared.skill, paired=False)
        estimate, low, high = welch_interval(paired, unpaired)
        assert (compared.paired_n, compared.unpaired_n) == (40, 15)
        assert compared.estimate == pytest.approx(estimate)
        assert (compared.ci_low, compared.ci_high) == (pytest.approx(low), pytest.approx(high))
        assert compared.statement.startswith("Paired people gained")  # a true effect of 1 point is seen
    recommendations = [o.recommendation for o in outcomes if o.recommendation is not None]
    promoters = len([r for r in recommendations if r >= 9]) / len(recommendations)
    detractors = len([r for r in recommendations if r <= 6]) / len(recommendations)
    assert figures.nps == pytest.approx(100 * (promoters - detractors))
    assert figures.adopted_share == pytest.approx(len([o for o in outcomes if o.adopted]) / len(outcomes))
    assert figures.completion == 1.0


def test_the_estimate_is_near_the_true_effect_on_a_large_population() -> None:
    population = generate(7, paired=2000, unpaired=2000, effect=0.8)

    for compared in program_impact(population.outcomes).comparison:
        assert compared.estimate == pytest.approx(0.8, abs=0.08)
        assert compared.ci_low is not None and compared.ci_high is not None
        assert compared.ci_low < 0.8 < compared.ci_high


def test_too_small_groups_give_a_statement_and_no_number() -> None:
    population = generate(4, paired=10, unpaired=MIN_GROUP_SIZE - 1)

    [first, *_] = program_impact(population.outcomes).comparison

    assert (first.estimate, first.ci_low, first.ci_high) == (None, None, None)
    assert (first.paired_n, first.unpaired_n) == (10, MIN_GROUP_SIZE - 1)
    assert first.statement.startswith("Too few people to compare")
    assert f"at least {MIN_GROUP_SIZE} in each group" in first.statement


def test_no_comparison_without_a_comparison_group_and_no_figures_without_people() -> None:
    only_paired = generate(5, paired=12, unpaired=0)

    assert program_impact(only_paired.outcomes).comparison == ()
    empty = program_impact([])
    assert (empty.skills, empty.adopted_share, empty.nps, empty.completion, empty.comparison) == (
        (),
        None,
        None,
        None,
        (),
    )


def test_completion_counts_who_reached_the_end_assessment() -> None:
    outcomes = [
        Outcome(Role.JUNIOR, True, {"ai": 2}, {"ai": 4}),
        Outcome(Role.SENIOR, True, {"ai": 1}, None),
        Outcome(Role.SENIOR, False, None, None),
        Outcome(Role.JUNIOR, False, {"ai": 3}, {"ai": 3}),
    ]

    figures = program_impact(outcomes)

    assert figures.completion == 0.5
    [junior] = [s for s in figures.skills if s.role is Role.JUNIOR]
    assert (junior.n, junior.mean_delta, junior.ci_low, junior.ci_high) == (1, 2.0, None, None)


def test_nps_by_hand() -> None:
    assert net_promoter_score([10, 9, 8, 7, 6, 0]) == pytest.approx(100 * (2 - 2) / 6)
    assert net_promoter_score([10, 10]) == 100.0
    assert net_promoter_score([0]) == -100.0
    assert net_promoter_score([]) is None


# -- properties ----------------------------------------------------------------------------------

levels = st.lists(st.integers(min_value=-4, max_value=4), min_size=2, max_size=60)


@settings(deadline=None)  # scipy's first calls, and a loaded machine, take their time
@given(levels)
def test_a_mean_interval_holds_its_mean(values: list[int]) -> None:
    interval = mean_interval(values)

    assert interval.n == len(values)
    assert interval.mean == pytest.approx(fmean(values))
    assert interval.low is not None and interval.high is not None
    assert interval.low <= interval.mean + 1e-9 and interval.mean - 1e-9 <= interval.high


@settings(deadline=None)  # scipy's first calls, and a loaded machine, take their time
@given(levels, st.integers(min_value=-3, max_value=3))
def test_shifting_every_value_shifts_the_interval(values: list[int], shift: int) -> None:
    before, after = mean_interval(values), mean_interval([v + shift for v in values])

    assert before.low is not None and after.low is not None and before.high is not None and after.high is not None
    assert after.low == pytest.approx(before.low + shift)
    assert after.high == pytest.approx(before.high + shift)


@settings(deadline=None)  # scipy's first calls, and a loaded machine, take their time
@given(
    st.lists(st.integers(-4, 4), min_size=MIN_GROUP_SIZE, max_size=40),
    st.lists(st.integers(-4, 4), min_size=MIN_GROUP_SIZE, max_size=40),
)
def test_swapping_the_groups_negates_the_comparison(paired: list[int], unpaired: list[int]) -> None:
    forward, backward = compare_groups("ai", paired, unpaired), compare_groups("ai", unpaired, paired)

    assert forward.estimate is not None and backward.estimate is not None
    assert forward.estimate == pytest.approx(-backward.estimate, abs=1e-9)
    assert forward.ci_low == pytest.approx(-(backward.ci_high or 0.0), abs=1e-9)
    assert forward.ci_low is not None and forward.ci_high is not None
    assert forward.ci_low <= forward.estimate + 1e-9 <= forward.ci_high + 2e-9


@settings(deadline=None)  # scipy's first calls, and a loaded machine, take their time
@given(st.lists(st.integers(0, 10), min_size=1, max_size=100))
def test_nps_stays_between_minus_and_plus_a_hundred(scores: list[int]) -> None:
    nps = net_promoter_score(scores)

    assert nps is not None and -100.0 <= nps <= 100.0


# -- coverage over many seeds (bounded) ----------------------------------------------------------


@pytest.mark.slow
def test_the_intervals_cover_the_true_values_about_95_percent_of_the_time() -> None:
    seeds, effect, drift = 400, 0.5, 0.3
    covered_did = covered_mean = trials_did = trials_mean = 0
    for seed in range(seeds):
        figures = program_impact(generate(1000 + seed, paired=16, unpaired=8, effect=effect, drift=drift).outcomes)
        for compared in figures.comparison:
            assert compared.ci_low is not None and compared.ci_high is not None
            trials_did += 1
            covered_did += compared.ci_low <= effect <= compared.ci_high
        for skill in figures.skills:
            assert skill.ci_low is not None and skill.ci_high is not None
            trials_mean += 1
            covered_mean += skill.ci_low <= effect + drift <= skill.ci_high

    # 95 % nominal; three binomial standard deviations either side at these counts.
    for covered, trials in ((covered_did, trials_did), (covered_mean, trials_mean)):
        margin = 3 * math.sqrt(0.95 * 0.05 / trials)
        assert 0.95 - margin <= covered / trials <= 0.95 + margin, (covered, trials)
