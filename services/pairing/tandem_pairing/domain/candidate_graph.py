"""The sparse candidate graph: for each person, their best feasible partners, found without a pair loop.

Scoring every junior against every senior of a 40,000-person pool is 400 million pairs; holding them
would take gigabytes, and the optimum almost never uses a pair that is outside both people's top few
dozen. So the pool is scored in blocks of juniors, and only each junior's `top_k` seniors and each
senior's `top_k` juniors survive (their union is the graph). Feasible-partner counts are kept for the
whole pool, so "nobody fits" can be told from "the optimum used the ones who did".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tandem_pairing.domain._block_scores import BlockScorer
from tandem_pairing.domain._features import Flags, Matrix, encode_pool
from tandem_pairing.domain.compatibility import ForbiddenPairs
from tandem_pairing.domain.participants import Candidate
from tandem_pairing.domain.settings import PairingSettings

__all__ = ["DEFAULT_TOP_K", "CandidateGraph", "build_candidate_graph"]

DEFAULT_TOP_K = 40
BLOCK_ROWS = 512  # juniors per block: ~40 MB per block-sized array against 20,000 seniors, and BLAS-efficient

Indexes = NDArray[np.int64]

_INFEASIBLE = np.float32(1e9)  # the cost of an infeasible pair, give or take a score
_FEASIBLE_BELOW = np.float32(1e8)  # feasible costs are -100..0


@dataclass(frozen=True, slots=True)
class CandidateGraph:
    """Feasible junior-senior edges with their scores, sorted by (junior, senior).

    Nodes are positions in the junior and senior sequences the graph was built from.
    `junior_feasible[i]` counts every feasible senior of junior i in the whole pool, kept or not.
    """

    junior_count: int
    senior_count: int
    juniors: Indexes
    seniors: Indexes
    scores: NDArray[np.float64]
    junior_feasible: Indexes
    senior_feasible: Indexes

    @property
    def edge_count(self) -> int:
        """How many candidate pairs the graph holds."""
        return len(self.scores)


def build_candidate_graph(
    juniors: Sequence[Candidate],
    seniors: Sequence[Candidate],
    settings: PairingSettings,
    forbidden: ForbiddenPairs = frozenset(),
    *,
    top_k: int | None = DEFAULT_TOP_K,
) -> CandidateGraph:
    """Score the pool in blocks and keep each person's `top_k` feasible partners (all of them if None).

    >>> graph = build_candidate_graph(juniors, seniors, settings, forbidden, top_k=40)
    >>> graph.edge_count <= 40 * (len(juniors) + len(seniors))
    True
    """
    block_rows = max(1, min(BLOCK_ROWS, len(juniors)))
    scorer = BlockScorer(encode_pool(juniors, seniors, settings, forbidden), settings, block_rows)
    kept = _KeptEdges(len(seniors), top_k)
    junior_feasible = np.zeros(len(juniors), dtype=np.int64)
    senior_feasible = np.zeros(len(seniors), dtype=np.int64)
    for start in range(0, len(juniors), block_rows):
        stop = min(start + block_rows, len(juniors))
        scores, feasible = scorer.score(start, stop)
        junior_feasible[start:stop] = np.count_nonzero(feasible, axis=1)
        senior_feasible += np.count_nonzero(feasible, axis=0)
        kept.add_block(start, scores, feasible)
    edge_juniors, edge_seniors, edge_scores = kept.edges()
    return CandidateGraph(
        junior_count=len(juniors),
        senior_count=len(seniors),
        juniors=edge_juniors,
        seniors=edge_seniors,
        scores=edge_scores,
        junior_feasible=junior_feasible,
        senior_feasible=senior_feasible,
    )


class _KeptEdges:
    """Keeps each junior's best seniors block by block, and each senior's best juniors across blocks.

    Works on costs: the negated score, or `_INFEASIBLE` for an infeasible pair. Selecting the k
    smallest is several times faster than the k largest when many entries tie, and a finite sentinel
    lets one multiply-add write costs where a masked assignment would be far slower.
    """

    def __init__(self, senior_count: int, top_k: int | None) -> None:
        self._senior_count = senior_count
        self._top_k = senior_count if top_k is None else min(top_k, senior_count)
        self._junior_parts: list[tuple[Indexes, Indexes, Matrix]] = []
        self._senior_side = _BestPerSenior(senior_count, self._top_k)
        self._costs = np.empty((0, senior_count), dtype=np.float32)

    def add_block(self, start: int, scores: Matrix, feasible: Flags) -> None:
        """Take a scored block of juniors starting at `start`."""
        if self._top_k == self._senior_count:  # every feasible pair: nothing to choose
            rows, columns = np.divmod(np.flatnonzero(feasible), self._senior_count)
            self._junior_parts.append((rows + start, columns, -scores[rows, columns]))
            return
        if self._top_k == 0:
            return
        if len(self._costs) < len(scores):
            self._costs = np.empty_like(scores)
        costs = np.multiply(feasible, -_INFEASIBLE, out=self._costs[: len(scores)])
        costs += _INFEASIBLE  # 0 where feasible, the sentinel elsewhere; feasible costs stay exact
        costs -= scores
        columns = np.argpartition(costs, self._top_k - 1, axis=1)[:, : self._top_k]
        rows = np.broadcast_to(np.arange(start, start + len(costs))[:, None], columns.shape)
        self._junior_parts.append((rows.ravel(), columns.ravel(), np.take_along_axis(costs, columns, 1).ravel()))
        self._senior_side.offer(start, costs)

    def edges(self) -> tuple[Indexes, Indexes, NDArray[np.float64]]:
        """Every kept feasible edge once, sorted by (junior, senior), with its score."""
        parts = [*self._junior_parts, self._senior_side.best()]
        juniors, seniors, costs = (np.concatenate([part[i] for part in parts]) for i in range(3))
        feasible = costs < _FEASIBLE_BELOW
        width = max(self._senior_count, 1)
        keys, first = np.unique(juniors[feasible] * width + seniors[feasible], return_index=True)
        return keys // width, keys % width, -costs[feasible][first].astype(np.float64)


class _BestPerSenior:
    """Each senior's k cheapest juniors so far.

    A block only contributes entries that beat the senior's current k-th best, so once that is tight
    very few do. The buffer is cut back to k per senior (which tightens it) whenever it has grown by
    another k per senior; the first block, with no k-th best to beat yet, is held to its own.
    """

    def __init__(self, senior_count: int, k: int) -> None:
        self._k = k
        self._senior_count = senior_count
        self._kth_cost = np.full(senior_count, _FEASIBLE_BELOW, dtype=np.float32)  # admits feasible pairs only
        nothing = np.zeros(0, dtype=np.int64)
        self._parts: list[tuple[Indexes, Indexes, Matrix]] = [(nothing, nothing, np.zeros(0, dtype=np.float32))]
        self._buffered = 0
        self._limit = 2 * k * senior_count

    def offer(self, start: int, costs: Matrix) -> None:
        if self._buffered == 0 and len(costs) > self._k:
            kth_in_block = np.partition(costs, self._k - 1, axis=0)[self._k - 1]
            self._kth_cost = np.minimum(kth_in_block, _FEASIBLE_BELOW)
            admitted = (costs <= kth_in_block) & (costs < _FEASIBLE_BELOW)
        else:
            admitted = costs < self._kth_cost
        rows, seniors = np.divmod(np.flatnonzero(admitted), self._senior_count)
        self._parts.append((rows + start, seniors, costs[rows, seniors]))
        self._buffered += len(rows)
        if self._buffered > self._limit:
            self._cut()

    def best(self) -> tuple[Indexes, Indexes, Matrix]:
        self._cut()
        return self._parts[0]

    def _cut(self) -> None:
        juniors, seniors, costs = (np.concatenate([part[i] for part in self._parts]) for i in range(3))
        # By senior, cheapest first, in one stable integer sort (twice as fast as lexsort on two keys);
        # stable, so among equal costs the earlier, lower junior index stays.
        order = np.argsort(seniors << 32 | _sortable_bits(costs), kind="stable")
        juniors, seniors, costs = juniors[order], seniors[order], costs[order]
        rank = np.arange(len(seniors)) - np.searchsorted(seniors, seniors)
        kth = rank == self._k - 1
        self._kth_cost[seniors[kth]] = costs[kth]
        kept = rank < self._k
        self._parts = [(juniors[kept], seniors[kept], costs[kept])]
        self._buffered = int(kept.sum())


def _sortable_bits(values: Matrix) -> Indexes:
    """Non-negative integers in the same order as the float32 values (IEEE bits, negatives flipped)."""
    bits = values.view(np.int32).astype(np.int64)
    return np.where(bits < 0, bits ^ 0x7FFFFFFF, bits) + (1 << 31)
