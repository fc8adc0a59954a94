"""The pure pairing domain: who fits whom, and the best assignment of a whole pool. No I/O.

    >>> from tandem_pairing.domain import PairingSettings, assess, match_round
    >>> result = match_round(pool, PairingSettings(reference_week=date(2026, 3, 2)))
    >>> explanation = assess(junior, senior, settings)  # why these two are (not) a good match

Layers, from facts to decisions: `participants`, `score` (the score's components, once) and
`settings` (value objects), `availability` (one
clock for every time zone), `compatibility` (the per-pair score and its breakdown, the reference
definition), `candidate_graph` (the same score for whole pools, keeping each person's best partners),
`matching` (the optimal assignment), `baselines` (greedy and exact references), `rounds` (pins,
assignment and reasons, end to end).

The event-sourced side: `events` (what pairing publishes), and the decide/evolve functions of its
three streams: `program_rules` (a program's settings, pins and forbidden pairs), `pairing_round` (a
round and the proposals it concludes with) and `pair` (a proposal, its answers, the pair to its end).
"""

from tandem_pairing.domain.availability import MINUTES_PER_WEEK, WeeklyIntervals, overlap_minutes, utc_week_intervals
from tandem_pairing.domain.baselines import exact_assignment, greedy_assignment
from tandem_pairing.domain.candidate_graph import DEFAULT_TOP_K, CandidateGraph, build_candidate_graph
from tandem_pairing.domain.compatibility import (
    Compatibility,
    ForbiddenPairs,
    PairKey,
    SkillMatch,
    Violation,
    assess,
    meeting_modes,
    skill_value,
)
from tandem_pairing.domain.matching import SCORE_SCALE, Capacities, optimal_assignment
from tandem_pairing.domain.participants import AvailabilityWindow, Candidate, MeetingPreference, Role, SkillLevels
from tandem_pairing.domain.rounds import (
    Pairing,
    PinRejection,
    RejectedPin,
    RoundResult,
    Unmatched,
    UnmatchedReason,
    match_round,
)
from tandem_pairing.domain.score import ScoreBreakdown, ScoreComponents, Weights
from tandem_pairing.domain.settings import PairingSettings, SitePreference

__all__ = [
    "DEFAULT_TOP_K",
    "MINUTES_PER_WEEK",
    "SCORE_SCALE",
    "AvailabilityWindow",
    "Candidate",
    "CandidateGraph",
    "Capacities",
    "Compatibility",
    "ForbiddenPairs",
    "MeetingPreference",
    "PairKey",
    "Pairing",
    "PairingSettings",
    "PinRejection",
    "RejectedPin",
    "Role",
    "RoundResult",
    "ScoreBreakdown",
    "ScoreComponents",
    "SitePreference",
    "SkillLevels",
    "SkillMatch",
    "Unmatched",
    "UnmatchedReason",
    "Violation",
    "WeeklyIntervals",
    "Weights",
    "assess",
    "build_candidate_graph",
    "exact_assignment",
    "greedy_assignment",
    "match_round",
    "meeting_modes",
    "optimal_assignment",
    "overlap_minutes",
    "skill_value",
    "utc_week_intervals",
]
