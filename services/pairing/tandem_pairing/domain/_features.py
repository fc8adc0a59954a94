"""A pool as arrays: every fact `assess` looks at, encoded so whole blocks of pairs score at once.

Every component but availability is a sum of products of one junior fact and one senior fact, so each
side gets an `affinity` row whose columns line up with the other side's, and
`juniors.affinity @ seniors.affinity.T` gives those components' points for every pair in one product:

- skills: the offerer's one-hot (skill, level) columns against what each such offer is worth to the
  learner (`skill_value`), scaled by the learner's maximum;
- objectives: one-hot rows divided by the square root of their length (cosine similarity);
- departments and sites: a constant column for the full points, and one-hot columns that take them
  back for a shared department (or a site that breaks the program's site rule);
- meeting mode: "both can meet remotely, or both can meet in person on the same site", expanded by
  inclusion-exclusion into three products.

Availability becomes membership of the UTC segments between every breakpoint in the pool (coordinate
compression); seniors' columns hold segment lengths, so a product gives exact overlap minutes.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from tandem_pairing.domain.availability import MINUTES_PER_WEEK, WeeklyIntervals, utc_week_intervals
from tandem_pairing.domain.compatibility import MAX_SKILL_VALUE, ForbiddenPairs, skill_value
from tandem_pairing.domain.participants import Candidate, MeetingPreference
from tandem_pairing.domain.settings import PairingSettings, SitePreference

Matrix = NDArray[np.float32]
Flags = NDArray[np.bool_]
Word = TypeVar("Word", bound=Hashable)
ColumnBlock = tuple[Matrix, Matrix]  # (junior columns, senior columns) of one component


@dataclass(frozen=True, slots=True)
class SideFeatures:
    """One side of the pool, one row per candidate in the order given."""

    affinity: Matrix
    languages: Matrix
    availability: Matrix  # juniors: 1 in each UTC segment they are free; seniors: the segment's minutes


@dataclass(frozen=True, slots=True)
class PoolFeatures:
    """Both sides encoded over shared vocabularies, and the pairs ruled out by who the people are."""

    juniors: SideFeatures
    seniors: SideFeatures
    excluded_juniors: NDArray[np.int64]  # forbidden pairs and manager lines,
    excluded_seniors: NDArray[np.int64]  # sorted by junior index


def encode_pool(
    juniors: Sequence[Candidate], seniors: Sequence[Candidate], settings: PairingSettings, forbidden: ForbiddenPairs
) -> PoolFeatures:
    """Encode both sides of a pool; row i of each side is candidate i of the sequence given."""
    languages = _vocabulary(c.languages for c in [*juniors, *seniors])
    junior_intervals = [utc_week_intervals(c.availability, c.time_zone, settings.reference_week) for c in juniors]
    senior_intervals = [utc_week_intervals(c.availability, c.time_zone, settings.reference_week) for c in seniors]
    breakpoints = np.unique(
        [0, MINUTES_PER_WEEK, *(t for spans in junior_intervals + senior_intervals for span in spans for t in span)]
    )
    blocks = _affinity_blocks(juniors, seniors, settings)
    excluded_juniors, excluded_seniors = _excluded_pairs(juniors, seniors, forbidden)
    return PoolFeatures(
        juniors=SideFeatures(
            affinity=np.hstack([junior for junior, _ in blocks]),
            languages=_one_hot([c.languages for c in juniors], languages),
            availability=_segment_membership(junior_intervals, breakpoints),
        ),
        seniors=SideFeatures(
            affinity=np.hstack([senior for _, senior in blocks]),
            languages=_one_hot([c.languages for c in seniors], languages),
            availability=_segment_membership(senior_intervals, breakpoints) * np.diff(breakpoints).astype(np.float32),
        ),
        excluded_juniors=excluded_juniors,
        excluded_seniors=excluded_seniors,
    )


def _affinity_blocks(
    juniors: Sequence[Candidate], seniors: Sequence[Candidate], settings: PairingSettings
) -> list[ColumnBlock]:
    top = settings.max_points
    everyone = [*juniors, *seniors]
    junior_offers, senior_offers = _offer_columns(juniors), _offer_columns(seniors)
    objectives = _vocabulary(c.objectives for c in everyone)
    departments = _vocabulary([c.department] for c in everyone)
    sites = _vocabulary([c.site] for c in everyone)
    j_site, s_site = (_one_hot([[c.site] for c in side], sites) for side in (juniors, seniors))
    j_remote, s_remote = (_accepts(side, MeetingPreference.REMOTE) for side in (juniors, seniors))
    j_in_person, s_in_person = (_accepts(side, MeetingPreference.IN_PERSON) for side in (juniors, seniors))
    j_one, s_one = np.ones((len(juniors), 1), np.float32), np.ones((len(seniors), 1), np.float32)

    blocks: list[ColumnBlock] = [
        # junior_teaches: the junior's offers, against what each is worth to the senior
        (
            _one_hot([c.skills_offered.items() for c in juniors], junior_offers),
            _want_values(seniors, junior_offers) * top.junior_teaches,
        ),
        # senior_teaches: the other way round
        (
            _want_values(juniors, senior_offers) * top.senior_teaches,
            _one_hot([c.skills_offered.items() for c in seniors], senior_offers),
        ),
        # shared_objectives: cosine similarity of the two objective sets
        (
            _unit_rows(_one_hot([c.objectives for c in juniors], objectives)),
            _unit_rows(_one_hot([c.objectives for c in seniors], objectives)) * top.shared_objectives,
        ),
        # different_departments: full points, taken back when the department is shared
        (j_one, s_one * top.different_departments),
        (
            _one_hot([[c.department] for c in juniors], departments),
            _one_hot([[c.department] for c in seniors], departments) * -top.different_departments,
        ),
        # meeting_mode: both remote, plus both in person on one site, minus pairs counted twice
        (j_remote, s_remote * top.meeting_mode),
        (j_in_person * j_site, s_in_person * s_site * top.meeting_mode),
        (j_remote * j_in_person * j_site, s_remote * s_in_person * s_site * -top.meeting_mode),
    ]
    # site: points for the same site, or full points taken back for the same site
    if settings.site_preference is SitePreference.SAME:
        blocks.append((j_site, s_site * top.site))
    elif settings.site_preference is SitePreference.DIFFERENT:
        blocks += [(j_one, s_one * top.site), (j_site, s_site * -top.site)]
    return [(junior.astype(np.float32), senior.astype(np.float32)) for junior, senior in blocks]


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


def _unit_rows(matrix: Matrix) -> Matrix:
    lengths = np.sqrt(matrix.sum(axis=1, keepdims=True))
    unit: Matrix = np.divide(matrix, lengths, out=np.zeros_like(matrix), where=lengths > 0)
    return unit


def _accepts(candidates: Sequence[Candidate], mode: MeetingPreference) -> Matrix:
    return np.array([mode in c.meeting_preference.modes for c in candidates], dtype=np.float32).reshape(-1, 1)


def _want_values(learners: Sequence[Candidate], offers: Mapping[tuple[str, int], int]) -> Matrix:
    """What each offer column is worth to each learner, as a fraction of the learner's maximum."""
    columns_of_skill: dict[str, list[tuple[int, int]]] = {}
    for (skill, level), column in offers.items():
        columns_of_skill.setdefault(skill, []).append((level, column))
    matrix = np.zeros((len(learners), len(offers)), dtype=np.float32)
    for row, learner in enumerate(learners):
        attainable = MAX_SKILL_VALUE * len(learner.skills_wanted)
        for skill, wanted_level in learner.skills_wanted.items():
            for offered_level, column in columns_of_skill.get(skill, ()):
                matrix[row, column] = skill_value(offered_level, wanted_level) / attainable
    return matrix


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
    """Forbidden pairs and manager lines (either way) as sorted (junior index, senior index) arrays."""
    junior_at = {c.participant_id: i for i, c in enumerate(juniors)}
    senior_at = {c.participant_id: i for i, c in enumerate(seniors)}
    pairs = {(junior_at[j], senior_at[s]) for j, s in forbidden if j in junior_at and s in senior_at}
    juniors_employed_as = _positions_by_employee(juniors)
    for s, c in enumerate(seniors):
        pairs.update((j, s) for j in juniors_employed_as.get(c.manager_employee_id, ()))
    seniors_employed_as = _positions_by_employee(seniors)
    for j, c in enumerate(juniors):
        pairs.update((j, s) for s in seniors_employed_as.get(c.manager_employee_id, ()))
    ordered = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    return ordered[:, 0].copy(), ordered[:, 1].copy()


def _positions_by_employee(candidates: Sequence[Candidate]) -> dict[str | None, list[int]]:
    positions: dict[str | None, list[int]] = {}
    for i, c in enumerate(candidates):
        positions.setdefault(c.employee_id, []).append(i)
    return positions
