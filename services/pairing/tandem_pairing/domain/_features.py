"""A pool as arrays: every fact `assess` looks at, encoded so whole blocks of pairs score at once.

Skills become one-hot (skill, level) columns on the offering side and, on the learning side, the
`skill_value` each such column is worth to the learner, so a matrix product sums skill values.
Availability becomes membership of UTC segments between every breakpoint in the pool (coordinate
compression), so a matrix product with segment lengths gives exact overlap minutes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from tandem_pairing.domain.availability import MINUTES_PER_WEEK, WeeklyIntervals, utc_week_intervals
from tandem_pairing.domain.compatibility import (
    FULL_MARKS_SKILLS,
    MAX_SKILL_VALUE,
    ForbiddenPairs,
    skill_value,
)
from tandem_pairing.domain.participants import Candidate, MeetingPreference
from tandem_pairing.domain.settings import PairingSettings

Matrix = NDArray[np.float32]
Codes = NDArray[np.int32]
Flags = NDArray[np.bool_]
Word = TypeVar("Word", bound=Hashable)


@dataclass(frozen=True, slots=True)
class SideFeatures:
    """One side of the pool (juniors or seniors), one row per candidate in the order given.

    `want_values` columns are the other side's `offers` columns: the value of that offer to this learner.
    """

    offers: Matrix
    want_values: Matrix
    learner_scale: Matrix  # skill value -> fraction of full marks, 0 for someone who wants nothing
    languages: Matrix
    objectives: Matrix
    objective_count: Matrix  # at least 1, to divide by; no objectives means none are shared anyway
    departments: Codes
    sites: Codes
    remote: Flags
    in_person: Flags
    availability: Matrix  # membership of each segment


@dataclass(frozen=True, slots=True)
class PoolFeatures:
    """Both sides encoded over shared vocabularies, plus the pairs a hard constraint rules out by identity."""

    juniors: SideFeatures
    seniors: SideFeatures
    segment_minutes: Matrix
    excluded_juniors: NDArray[np.int64]  # with excluded_seniors: forbidden pairs and manager lines,
    excluded_seniors: NDArray[np.int64]  # sorted by junior index


def encode_pool(
    juniors: Sequence[Candidate], seniors: Sequence[Candidate], settings: PairingSettings, forbidden: ForbiddenPairs
) -> PoolFeatures:
    """Encode both sides of a pool; row i of each side is candidate i of the sequence given."""
    everyone = [*juniors, *seniors]
    languages = _vocabulary(c.languages for c in everyone)
    objectives = _vocabulary(c.objectives for c in everyone)
    departments = _vocabulary([c.department] for c in everyone)
    sites = _vocabulary([c.site] for c in everyone)
    junior_offers = _offer_columns(juniors)
    senior_offers = _offer_columns(seniors)
    intervals = [utc_week_intervals(c.availability, c.time_zone, settings.reference_week) for c in everyone]
    breakpoints = np.unique(np.array([0, MINUTES_PER_WEEK, *(t for span in intervals for s in span for t in s)]))

    def side(
        candidates: Sequence[Candidate],
        offers: dict[tuple[str, int], int],
        others_offers: dict[tuple[str, int], int],
        side_intervals: list[WeeklyIntervals],
    ) -> SideFeatures:
        objective_matrix = _one_hot([c.objectives for c in candidates], objectives)
        return SideFeatures(
            offers=_one_hot([c.skills_offered.items() for c in candidates], offers),
            want_values=_want_values(candidates, others_offers),
            learner_scale=np.array([_learner_scale(len(c.skills_wanted)) for c in candidates], dtype=np.float32),
            languages=_one_hot([c.languages for c in candidates], languages),
            objectives=objective_matrix,
            objective_count=np.maximum(objective_matrix.sum(axis=1), 1.0),
            departments=np.array([departments[c.department] for c in candidates], dtype=np.int32),
            sites=np.array([sites[c.site] for c in candidates], dtype=np.int32),
            remote=np.array([MeetingPreference.REMOTE in c.meeting_preference.modes for c in candidates]),
            in_person=np.array([MeetingPreference.IN_PERSON in c.meeting_preference.modes for c in candidates]),
            availability=_segment_membership(side_intervals, breakpoints),
        )

    excluded = _excluded_pairs(juniors, seniors, forbidden)
    return PoolFeatures(
        juniors=side(juniors, junior_offers, senior_offers, intervals[: len(juniors)]),
        seniors=side(seniors, senior_offers, junior_offers, intervals[len(juniors) :]),
        segment_minutes=np.diff(breakpoints).astype(np.float32),
        excluded_juniors=excluded[0],
        excluded_seniors=excluded[1],
    )


def _vocabulary(groups: Iterable[Iterable[str]]) -> dict[str, int]:
    words = sorted({word for group in groups for word in group})
    return {word: code for code, word in enumerate(words)}


def _offer_columns(candidates: Sequence[Candidate]) -> dict[tuple[str, int], int]:
    # Only (skill, level) pairs someone offers get a column: the matrices stay narrow.
    offered = sorted({item for c in candidates for item in c.skills_offered.items()})
    return {item: column for column, item in enumerate(offered)}


def _one_hot(rows: Sequence[Iterable[Word]], vocabulary: Mapping[Word, int]) -> Matrix:
    matrix = np.zeros((len(rows), len(vocabulary)), dtype=np.float32)
    for row, words in enumerate(rows):
        for word in words:
            matrix[row, vocabulary[word]] = 1.0
    return matrix


def _want_values(learners: Sequence[Candidate], offers: dict[tuple[str, int], int]) -> Matrix:
    columns_of_skill: dict[str, list[tuple[int, int]]] = {}
    for (skill, level), column in offers.items():
        columns_of_skill.setdefault(skill, []).append((level, column))
    matrix = np.zeros((len(learners), len(offers)), dtype=np.float32)
    for row, learner in enumerate(learners):
        for skill, wanted_level in learner.skills_wanted.items():
            for offered_level, column in columns_of_skill.get(skill, ()):
                matrix[row, column] = skill_value(offered_level, wanted_level)
    return matrix


def _learner_scale(wants: int) -> float:
    return 1.0 / (MAX_SKILL_VALUE * min(wants, FULL_MARKS_SKILLS)) if wants else 0.0


def _segment_membership(intervals: Sequence[WeeklyIntervals], breakpoints: NDArray[np.int64]) -> Matrix:
    rows = np.array([row for row, spans in enumerate(intervals) for _ in spans], dtype=np.int64)
    starts = np.array([start for spans in intervals for start, _ in spans], dtype=np.int64)
    ends = np.array([end for spans in intervals for _, end in spans], dtype=np.int64)
    # +1 where a span opens, -1 where it closes, then a running sum along the week.
    steps = np.zeros((len(intervals), len(breakpoints)), dtype=np.float32)
    np.add.at(steps, (rows, np.searchsorted(breakpoints, starts)), 1.0)
    np.add.at(steps, (rows, np.searchsorted(breakpoints, ends)), -1.0)
    return np.ascontiguousarray(np.cumsum(steps, axis=1)[:, :-1])


def _excluded_pairs(
    juniors: Sequence[Candidate], seniors: Sequence[Candidate], forbidden: ForbiddenPairs
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    junior_at = {c.participant_id: i for i, c in enumerate(juniors)}
    senior_at = {c.participant_id: i for i, c in enumerate(seniors)}
    juniors_by_employee: dict[str, list[int]] = {}
    seniors_by_employee: dict[str, list[int]] = {}
    for i, c in enumerate(juniors):
        juniors_by_employee.setdefault(c.employee_id, []).append(i)
    for i, c in enumerate(seniors):
        seniors_by_employee.setdefault(c.employee_id, []).append(i)
    pairs = {(junior_at[j], senior_at[s]) for j, s in forbidden if j in junior_at and s in senior_at}
    for i, c in enumerate(juniors):
        if c.manager_employee_id is not None:
            pairs.update((i, s) for s in seniors_by_employee.get(c.manager_employee_id, ()))
    for s, c in enumerate(seniors):
        if c.manager_employee_id is not None:
            pairs.update((i, s) for i in juniors_by_employee.get(c.manager_employee_id, ()))
    ordered = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    return ordered[:, 0].copy(), ordered[:, 1].copy()
