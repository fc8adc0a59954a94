"""Reference assignments to measure `optimal_assignment` against: the greedy habit and the dense exact optimum."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from tandem_pairing.domain.candidate_graph import CandidateGraph
from tandem_pairing.domain.matching import Capacities

__all__ = ["exact_assignment", "greedy_assignment"]


def greedy_assignment(
    graph: CandidateGraph, junior_capacity: Capacities, senior_capacity: Capacities
) -> NDArray[np.int64]:
    """Edge indexes chosen by taking the best remaining pair while both still have capacity.

    What a person pairing by hand would do; ties go to the lower junior, then senior, index.

    >>> greedy = graph.scores[greedy_assignment(graph, junior_capacity, senior_capacity)].sum()
    """
    order = np.lexsort((graph.seniors, graph.juniors, -graph.scores))
    juniors_left = junior_capacity.tolist()
    seniors_left = senior_capacity.tolist()
    chosen: list[int] = []
    for edge, junior, senior in zip(
        order.tolist(), graph.juniors[order].tolist(), graph.seniors[order].tolist(), strict=True
    ):
        if juniors_left[junior] > 0 and seniors_left[senior] > 0:
            juniors_left[junior] -= 1
            seniors_left[senior] -= 1
            chosen.append(edge)
    return np.array(sorted(chosen), dtype=np.int64)


def exact_assignment(graph: CandidateGraph) -> NDArray[np.int64]:
    """Edge indexes of the exact optimum with capacity 1 on both sides, by dense linear assignment.

    Memory grows with juniors x seniors: meant for tests and benchmarks of a few thousand people.
    Build the graph with `top_k=None` for the optimum over every feasible pair.

    >>> exact = graph.scores[exact_assignment(graph)].sum()
    """
    edge_at = np.full((graph.junior_count, graph.senior_count), -1, dtype=np.int64)
    edge_at[graph.juniors, graph.seniors] = np.arange(graph.edge_count)
    weights = np.zeros((graph.junior_count, graph.senior_count))
    weights[graph.juniors, graph.seniors] = graph.scores
    rows, columns = linear_sum_assignment(weights, maximize=True)
    # Pairs without an edge (infeasible) weigh 0, the same as staying unmatched: drop them.
    edges = edge_at[rows, columns]
    return np.sort(edges[edges >= 0])
