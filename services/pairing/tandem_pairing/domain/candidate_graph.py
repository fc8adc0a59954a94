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
BLOCK_ROWS = 256  # juniors scored per block: ~20 MB per block-sized array against 20,000 seniors

Indexes = NDArray[np.int64]


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
    scorer = BlockScorer(encode_pool(juniors, seniors, settings, forbidden), settings)
    kept = _KeptEdges(len(seniors), top_k)
    junior_feasible = np.zeros(len(juniors), dtype=np.int64)
    senior_feasible = np.zeros(len(seniors), dtype=np.int64)
    for start in range(0, len(juniors), BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, len(juniors))
        scores, feasible = scorer.score(start, stop)
        junior_feasible[start:stop] = feasible.sum(axis=1)
        senior_feasible += feasible.sum(axis=0)
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
    """Keeps each junior's best seniors block by block, and each senior's best juniors across blocks."""

    def __init__(self, senior_count: int, top_k: int | None) -> None:
        self._senior_count = senior_count
        self._top_k = senior_count if top_k is None else min(top_k, senior_count)
        self._row_parts: list[tuple[Indexes, Indexes, Matrix]] = []
        self._best_juniors = np.zeros((senior_count, 0), dtype=np.int64)
        self._best_scores = np.zeros((senior_count, 0), dtype=np.float32)

    def add_block(self, start: int, scores: Matrix, feasible: Flags) -> None:
        if self._top_k == self._senior_count:  # every feasible pair: the columns add nothing
            rows, columns = np.nonzero(feasible)
            self._row_parts.append((rows + start, columns.astype(np.int64), scores[rows, columns]))
            return
        masked = np.where(feasible, scores, np.float32(-np.inf))
        columns, best = _top_columns(masked, self._top_k)
        self._row_parts.append((np.repeat(np.arange(start, start + len(masked)), columns.shape[1]), columns, best))
        # Each senior's best juniors in this block compete with their best so far.
        juniors, junior_scores = _top_columns(np.ascontiguousarray(masked.T), self._top_k)
        contenders = np.concatenate([self._best_juniors, juniors + start], axis=1)
        contender_scores = np.concatenate([self._best_scores, junior_scores], axis=1)
        winners, self._best_scores = _top_columns(contender_scores, self._top_k)
        self._best_juniors = np.take_along_axis(contenders, winners, axis=1)

    def edges(self) -> tuple[Indexes, Indexes, NDArray[np.float64]]:
        """Every kept feasible edge once, sorted by (junior, senior)."""
        senior_parts = (
            self._best_juniors,
            np.broadcast_to(np.arange(self._senior_count)[:, None], self._best_juniors.shape),
            self._best_scores,
        )
        juniors, seniors, scores = (
            np.concatenate([part[i].ravel() for part in [*self._row_parts, senior_parts]]) for i in range(3)
        )
        feasible = scores > -np.inf
        width = max(self._senior_count, 1)
        keys, first = np.unique(juniors[feasible] * width + seniors[feasible], return_index=True)
        return keys // width, keys % width, scores[feasible][first].astype(np.float64)


def _top_columns(masked: Matrix, k: int) -> tuple[Indexes, Matrix]:
    """Column indexes and values of each row's k largest entries (every entry if a row is shorter)."""
    width = masked.shape[1]
    if width <= k:
        columns = np.broadcast_to(np.arange(width, dtype=np.int64), masked.shape).copy()
    else:
        columns = np.argpartition(masked, width - k, axis=1)[:, width - k :].astype(np.int64)
    return columns, np.take_along_axis(masked, columns, axis=1)
