"""A pairing round: from a program's pool to pairings, with a reason for everyone left out.

>>> result = match_round(pool, settings, forbidden=previous_partners | hr_forbidden, pins=hr_pins)
>>> [(p.junior_id, p.senior_id, p.score) for p in result.pairings]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

import numpy as np

from tandem_pairing.domain.candidate_graph import DEFAULT_TOP_K, CandidateGraph, build_candidate_graph
from tandem_pairing.domain.compatibility import ForbiddenPairs, PairKey, Violation, assess
from tandem_pairing.domain.events import UnmatchedReason
from tandem_pairing.domain.matching import Capacities, optimal_assignment
from tandem_pairing.domain.participants import Candidate, Role
from tandem_pairing.domain.settings import PairingSettings

__all__ = [
    "Pairing",
    "PinRejection",
    "RejectedPin",
    "RoundResult",
    "Unmatched",
    "UnmatchedReason",
    "match_round",
]


class PinRejection(StrEnum):
    """Why an HR pin could not be honoured."""

    NOT_IN_POOL = "not_in_pool"  # withdrawn, unknown, or not a junior and a senior in that order
    INFEASIBLE = "infeasible"  # the pair breaks a hard constraint (see `violations`)
    OVER_CAPACITY = "over_capacity"  # earlier pins (in id order) already used a partner's capacity


@dataclass(frozen=True, slots=True)
class Pairing:
    """A junior and a senior paired for the round; `pinned` when HR forced the pair."""

    junior_id: UUID
    senior_id: UUID
    score: float
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A participant of the pool with no partner this round."""

    participant_id: UUID
    role: Role
    reason: UnmatchedReason


@dataclass(frozen=True, slots=True)
class RejectedPin:
    """An HR pin that was not applied, and why."""

    junior_id: UUID
    senior_id: UUID
    reason: PinRejection
    violations: tuple[Violation, ...] = ()


@dataclass(frozen=True, slots=True)
class RoundResult:
    """The outcome of a round, every collection in id order so equal inputs give equal results."""

    pairings: tuple[Pairing, ...]
    unmatched: tuple[Unmatched, ...]
    rejected_pins: tuple[RejectedPin, ...]

    @property
    def total_score(self) -> float:
        """The sum of every pairing's score: what the round maximised."""
        return sum(pairing.score for pairing in self.pairings)


def match_round(
    pool: Iterable[Candidate],
    settings: PairingSettings,
    *,
    forbidden: ForbiddenPairs = frozenset(),
    pins: Iterable[PairKey] = (),
    top_k: int | None = DEFAULT_TOP_K,
) -> RoundResult:
    """Pair a program's pool for one round: HR pins first, then the best assignment of what is left.

    `pool` holds the program's current (non-withdrawn) participants; `forbidden` the (junior, senior)
    pairs never to match (previous partners, HR forbids); `pins` the (junior, senior) pairs HR forces,
    which are applied when they break no hard constraint and consume capacity. `top_k` bounds the
    candidate graph (see `build_candidate_graph`); None considers every feasible pair.
    """
    pool = list(pool)
    juniors, seniors = _sorted_side(pool, Role.JUNIOR), _sorted_side(pool, Role.SENIOR)
    junior_capacity = np.array([c.capacity for c in juniors], dtype=np.int64)
    senior_capacity = np.array([c.capacity for c in seniors], dtype=np.int64)
    pinned, rejected = _apply_pins(
        sorted(set(pins)), juniors, seniors, settings, forbidden, junior_capacity, senior_capacity
    )

    # A pinned pair is already made: forbid it so the solver cannot pair the two a second time.
    already_paired = {(p.junior_id, p.senior_id) for p in pinned}
    graph = build_candidate_graph(juniors, seniors, settings, forbidden | already_paired, top_k=top_k)
    chosen = optimal_assignment(graph, junior_capacity, senior_capacity)
    solved = [
        Pairing(juniors[j].participant_id, seniors[s].participant_id, score)
        for j, s, score in zip(
            graph.juniors[chosen].tolist(), graph.seniors[chosen].tolist(), graph.scores[chosen].tolist(), strict=True
        )
    ]
    pairings = sorted([*pinned, *solved], key=lambda p: (p.junior_id, p.senior_id))
    return RoundResult(
        pairings=tuple(pairings),
        unmatched=_unmatched(juniors, seniors, graph, pairings),
        rejected_pins=tuple(rejected),
    )


def _apply_pins(
    pins: Iterable[PairKey],
    juniors: Sequence[Candidate],
    seniors: Sequence[Candidate],
    settings: PairingSettings,
    forbidden: ForbiddenPairs,
    junior_capacity: Capacities,
    senior_capacity: Capacities,
) -> tuple[list[Pairing], list[RejectedPin]]:
    """Honour the pins that can be, taking their capacity (the arrays are updated in place)."""
    junior_at = {c.participant_id: i for i, c in enumerate(juniors)}
    senior_at = {c.participant_id: i for i, c in enumerate(seniors)}
    pinned: list[Pairing] = []
    rejected: list[RejectedPin] = []
    for junior_id, senior_id in pins:
        if junior_id not in junior_at or senior_id not in senior_at:
            rejected.append(RejectedPin(junior_id, senior_id, PinRejection.NOT_IN_POOL))
            continue
        j, s = junior_at[junior_id], senior_at[senior_id]
        fit = assess(juniors[j], seniors[s], settings, forbidden)
        if not fit.feasible:
            rejected.append(RejectedPin(junior_id, senior_id, PinRejection.INFEASIBLE, fit.violations))
        elif junior_capacity[j] == 0 or senior_capacity[s] == 0:
            rejected.append(RejectedPin(junior_id, senior_id, PinRejection.OVER_CAPACITY))
        else:
            junior_capacity[j] -= 1
            senior_capacity[s] -= 1
            pinned.append(Pairing(junior_id, senior_id, fit.score, pinned=True))
    return pinned, rejected


def _unmatched(
    juniors: Sequence[Candidate], seniors: Sequence[Candidate], graph: CandidateGraph, pairings: Sequence[Pairing]
) -> tuple[Unmatched, ...]:
    partners = Counter([p.junior_id for p in pairings] + [p.senior_id for p in pairings])
    unmatched = [
        Unmatched(c.participant_id, c.role, UnmatchedReason.CAPACITY if fits else UnmatchedReason.NO_FEASIBLE_PARTNER)
        for side, feasible_counts in ((juniors, graph.junior_feasible), (seniors, graph.senior_feasible))
        for c, fits in zip(side, feasible_counts.tolist(), strict=True)
        if not partners[c.participant_id]
    ]
    return tuple(sorted(unmatched, key=lambda u: u.participant_id))


def _sorted_side(pool: Sequence[Candidate], role: Role) -> Sequence[Candidate]:
    side = sorted((c for c in pool if c.role is role), key=lambda c: c.participant_id)
    if len({c.participant_id for c in side}) != len(side):
        raise ValueError(f"the pool holds a {role} twice")
    return side
