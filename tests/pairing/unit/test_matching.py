"""The assignment is a global optimum within capacities: never below greedy, equal to the exact optimum."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp
from tandem_pairing.domain import (
    SCORE_SCALE,
    CandidateGraph,
    build_candidate_graph,
    exact_assignment,
    greedy_assignment,
    optimal_assignment,
)

from .pools import Pool, pools

ROUNDING = 1 / SCORE_SCALE  # the solver sees scores in whole hundredths: per pair, at most this is lost


def full_graph(pool: Pool) -> CandidateGraph:
    return build_candidate_graph(pool.juniors, pool.seniors, pool.settings, pool.forbidden, top_k=None)


def capacities(pool: Pool) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    return (
        np.array([c.capacity for c in pool.juniors], dtype=np.int64),
        np.array([c.capacity for c in pool.seniors], dtype=np.int64),
    )


def total(graph: CandidateGraph, edges: NDArray[np.int64]) -> float:
    return float(graph.scores[edges].sum())


def best_possible_total(
    graph: CandidateGraph, junior_capacity: NDArray[np.int64], senior_capacity: NDArray[np.int64]
) -> float:
    """The b-matching optimum by integer programming: slow, obviously right."""
    if graph.edge_count == 0:
        return 0.0
    edges = np.arange(graph.edge_count)
    at_junior = np.zeros((graph.junior_count, graph.edge_count))
    at_junior[graph.juniors, edges] = 1
    at_senior = np.zeros((graph.senior_count, graph.edge_count))
    at_senior[graph.seniors, edges] = 1
    result = milp(
        -graph.scores,
        constraints=[LinearConstraint(at_junior, ub=junior_capacity), LinearConstraint(at_senior, ub=senior_capacity)],
        integrality=np.ones(graph.edge_count),
        bounds=Bounds(0, 1),
    )
    return float(-result.fun)


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7, max_capacity=3))
def test_the_assignment_respects_capacities_and_uses_each_pair_once(pool: Pool) -> None:
    graph = full_graph(pool)
    junior_capacity, senior_capacity = capacities(pool)

    chosen = optimal_assignment(graph, junior_capacity, senior_capacity)

    assert len(set(chosen.tolist())) == len(chosen)
    assert (np.bincount(graph.juniors[chosen], minlength=graph.junior_count) <= junior_capacity).all()
    assert (np.bincount(graph.seniors[chosen], minlength=graph.senior_count) <= senior_capacity).all()


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7, max_capacity=3))
def test_the_optimum_is_never_below_greedy_and_equals_the_integer_programming_optimum(pool: Pool) -> None:
    graph = full_graph(pool)
    junior_capacity, senior_capacity = capacities(pool)

    chosen = optimal_assignment(graph, junior_capacity, senior_capacity)
    greedy = greedy_assignment(graph, junior_capacity, senior_capacity)

    slack = ROUNDING * (len(chosen) + len(greedy)) + 1e-6
    assert total(graph, chosen) >= total(graph, greedy) - slack
    assert abs(total(graph, chosen) - best_possible_total(graph, junior_capacity, senior_capacity)) <= slack


@hypothesis_settings(max_examples=50, deadline=None)
@given(pool=pools(max_side=7))
def test_with_capacity_one_the_optimum_equals_the_dense_exact_assignment(pool: Pool) -> None:
    graph = full_graph(pool)
    junior_capacity, senior_capacity = capacities(pool)

    chosen = optimal_assignment(graph, junior_capacity, senior_capacity)
    exact = exact_assignment(graph)

    assert abs(total(graph, chosen) - total(graph, exact)) <= ROUNDING * (len(chosen) + len(exact)) + 1e-6


def test_the_optimum_gives_up_a_pair_that_greedy_would_take_first() -> None:
    # Junior 0 is everyone's favourite; greedy takes (0, 0) = 10 and is left with (1, 1) = 1.
    graph = CandidateGraph(
        junior_count=2,
        senior_count=2,
        juniors=np.array([0, 0, 1, 1]),
        seniors=np.array([0, 1, 0, 1]),
        scores=np.array([10.0, 9.0, 8.0, 1.0]),
        junior_feasible=np.array([2, 2]),
        senior_feasible=np.array([2, 2]),
    )
    one = np.ones(2, dtype=np.int64)

    assert total(graph, greedy_assignment(graph, one, one)) == 11
    assert total(graph, optimal_assignment(graph, one, one)) == 17  # (0, 1) + (1, 0)


def test_a_senior_with_capacity_two_takes_the_two_best_juniors_who_have_nobody_better() -> None:
    graph = CandidateGraph(
        junior_count=3,
        senior_count=1,
        juniors=np.array([0, 1, 2]),
        seniors=np.array([0, 0, 0]),
        scores=np.array([50.0, 70.0, 60.0]),
        junior_feasible=np.array([1, 1, 1]),
        senior_feasible=np.array([3]),
    )

    chosen = optimal_assignment(graph, np.ones(3, dtype=np.int64), np.array([2]))

    assert sorted(graph.juniors[chosen].tolist()) == [1, 2]
