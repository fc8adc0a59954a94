"""The globally best assignment on a candidate graph: a maximum-weight b-matching as a min-cost flow.

    source --(junior capacity)--> junior --(1, cost -score)--> senior --(senior capacity)--> sink
    source ----------------------------(free bypass)----------------------------------------> sink

The source must push every unit of junior capacity to the sink, and the free bypass lets any unit
stay unmatched, so the flow pays for a pair only when that lowers the cost: a minimum-cost flow is
exactly a maximum-score assignment, never "as many pairs as possible" at the expense of score.
Costs are integer hundredths of a point, so the total is optimal to within that rounding.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from tandem_pairing.domain.candidate_graph import CandidateGraph

__all__ = ["SCORE_SCALE", "Capacities", "optimal_assignment"]

SCORE_SCALE = 100

Capacities = NDArray[np.int64]
"""How many more partners each node may take, indexed like the graph's nodes."""


def optimal_assignment(
    graph: CandidateGraph, junior_capacity: Capacities, senior_capacity: Capacities
) -> NDArray[np.int64]:
    """Indexes of the graph's edges in a maximum-total-score assignment within the capacities.

    >>> chosen = optimal_assignment(graph, np.ones(graph.junior_count, np.int64), np.ones(graph.senior_count, np.int64))
    >>> total = graph.scores[chosen].sum()
    """
    gains = np.rint(graph.scores * SCORE_SCALE).astype(np.int64)
    # A pair worth nothing can never raise the total; leaving it out keeps the flow network smaller.
    useful = np.nonzero((gains > 0) & (junior_capacity[graph.juniors] > 0) & (senior_capacity[graph.seniors] > 0))[0]
    if len(useful) == 0:
        return useful
    juniors, seniors = graph.junior_count, graph.senior_count
    source, sink = juniors + seniors, juniors + seniors + 1
    supply = int(junior_capacity.sum())

    flow = min_cost_flow.SimpleMinCostFlow()
    pair_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        graph.juniors[useful], juniors + graph.seniors[useful], np.ones(len(useful), np.int64), -gains[useful]
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(juniors, source), np.arange(juniors), junior_capacity, np.zeros(juniors, np.int64)
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        juniors + np.arange(seniors), np.full(seniors, sink), senior_capacity, np.zeros(seniors, np.int64)
    )
    flow.add_arc_with_capacity_and_unit_cost(source, sink, supply, 0)
    flow.set_nodes_supplies(np.array([source, sink]), np.array([supply, -supply]))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status!r} on a network that always has a solution")
    chosen: NDArray[np.int64] = useful[flow.flows(pair_arcs) > 0]
    return chosen
