"""How well one junior and one senior fit, and why: the score, its breakdown and the hard constraints.

This per-pair assessment is the reference definition of the score. `candidate_graph` computes the same
numbers for whole pools at once, and a test holds the two to each other.

The score is 0-100: each component (`score.ScoreComponents`) earns a fraction (0..1) of its
`PairingSettings.max_points`.

- junior_teaches / senior_teaches: for every skill one offers and the other wants, the offer is worth
  `skill_value(offered, wanted)`, which grows with the offer's headroom over the wanted level (4 for 1
  beats 2 for 2). The fraction is that sum over `MAX_SKILL_VALUE` per skill the learner wants.
- shared_objectives: shared objectives over the geometric mean of the two list sizes (cosine
  similarity: 1 for the same objectives, lower as either side adds ones the other did not choose).
- different_departments: full marks across departments (breaking silos), none within one.
- site: full marks when the sites match the program's `SitePreference`.
- availability: weekly overlap, full marks from `FULL_MARKS_SESSIONS` sessions' worth of minutes.
- meeting_mode: full marks when a meeting mode suits both (in person needs the same site).
"""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from tandem_pairing.domain.availability import overlap_minutes, utc_week_intervals
from tandem_pairing.domain.participants import Candidate, MeetingPreference, Role, SkillLevels
from tandem_pairing.domain.score import ScoreBreakdown
from tandem_pairing.domain.settings import PairingSettings, SitePreference

__all__ = [
    "FULL_MARKS_SESSIONS",
    "MAX_SKILL_VALUE",
    "Compatibility",
    "ForbiddenPairs",
    "PairKey",
    "SkillMatch",
    "Violation",
    "assess",
    "meeting_modes",
    "skill_value",
]

FULL_MARKS_SESSIONS = 4
MAX_SKILL_VALUE = 6  # an offer at level 5 for a want at level 1

PairKey = tuple[UUID, UUID]
"""A junior and a senior, by participant id, in that order: how every rule and round names a pair."""

ForbiddenPairs = Set[PairKey]
"""Pairs that must not be matched: previous partners in the program and pairs HR forbade."""


class Violation(StrEnum):
    """A hard constraint the pair breaks; any one of them makes the pair impossible."""

    NO_SHARED_LANGUAGE = "no_shared_language"
    MANAGER_LINE = "manager_line"
    FORBIDDEN_PAIR = "forbidden_pair"
    INSUFFICIENT_OVERLAP = "insufficient_overlap"


@dataclass(frozen=True, slots=True)
class SkillMatch:
    """One skill the mentor offers and the learner wants, and what that is worth."""

    skill: str
    offered_level: int
    wanted_level: int
    value: int


@dataclass(frozen=True, slots=True)
class Compatibility:
    """Why a junior and a senior are a good or a bad match: points, raw facts and broken constraints.

    `score` is computed even for an infeasible pair, so an explanation can say "they would fit well,
    but they share no language".
    """

    junior_id: UUID
    senior_id: UUID
    score: float
    points: ScoreBreakdown
    violations: tuple[Violation, ...]
    shared_languages: frozenset[str]
    overlap_minutes: int
    junior_teaches: tuple[SkillMatch, ...]
    senior_teaches: tuple[SkillMatch, ...]
    shared_objectives: frozenset[str]
    different_departments: bool
    same_site: bool
    meeting_modes: frozenset[MeetingPreference]

    @property
    def feasible(self) -> bool:
        """Whether the pair breaks no hard constraint."""
        return not self.violations


def skill_value(offered_level: int, wanted_level: int) -> int:
    """What an offer is worth to a want: 2 at the same level, one more per level of headroom, 0 if
    the offer is two or more levels short.

    >>> skill_value(4, 1) > skill_value(2, 2)
    True
    """
    return max(0, offered_level - wanted_level + 2)


def meeting_modes(junior: Candidate, senior: Candidate) -> frozenset[MeetingPreference]:
    """The concrete meeting modes both accept; meeting in person needs a shared site."""
    modes = junior.meeting_preference.modes & senior.meeting_preference.modes
    if junior.site != senior.site:
        modes -= {MeetingPreference.IN_PERSON}
    return modes


def assess(
    junior: Candidate, senior: Candidate, settings: PairingSettings, forbidden: ForbiddenPairs = frozenset()
) -> Compatibility:
    """Score a junior-senior pair and check it against every hard constraint.

    >>> fit = assess(junior, senior, settings, forbidden={(junior.participant_id, senior.participant_id)})
    >>> fit.feasible, fit.violations
    (False, (<Violation.FORBIDDEN_PAIR: 'forbidden_pair'>,))
    """
    if junior.role is not Role.JUNIOR or senior.role is not Role.SENIOR:
        raise ValueError("assess takes a junior first and a senior second")
    top = settings.max_points
    overlap = overlap_minutes(
        utc_week_intervals(junior.availability, junior.time_zone, settings.reference_week),
        utc_week_intervals(senior.availability, senior.time_zone, settings.reference_week),
    )
    junior_teaches = _skill_matches(junior.skills_offered, senior.skills_wanted)
    senior_teaches = _skill_matches(senior.skills_offered, junior.skills_wanted)
    shared_objectives = junior.objectives & senior.objectives
    different_departments = junior.department != senior.department
    same_site = junior.site == senior.site
    modes = meeting_modes(junior, senior)
    points = ScoreBreakdown(
        junior_teaches=top.junior_teaches * _coverage(junior_teaches, senior.skills_wanted),
        senior_teaches=top.senior_teaches * _coverage(senior_teaches, junior.skills_wanted),
        shared_objectives=top.shared_objectives * _objective_share(shared_objectives, junior, senior),
        different_departments=top.different_departments * different_departments,
        site=top.site * _site_fits(same_site, settings.site_preference),
        availability=top.availability * min(1.0, overlap / (FULL_MARKS_SESSIONS * settings.session_minutes)),
        meeting_mode=top.meeting_mode * bool(modes),
    )
    shared_languages = junior.languages & senior.languages
    broken = {
        Violation.NO_SHARED_LANGUAGE: not shared_languages,
        Violation.MANAGER_LINE: _manager_line(junior, senior),
        Violation.FORBIDDEN_PAIR: (junior.participant_id, senior.participant_id) in forbidden,
        Violation.INSUFFICIENT_OVERLAP: overlap < settings.session_minutes,
    }
    return Compatibility(
        junior_id=junior.participant_id,
        senior_id=senior.participant_id,
        score=points.total,
        points=points,
        violations=tuple(violation for violation, is_broken in broken.items() if is_broken),
        shared_languages=shared_languages,
        overlap_minutes=overlap,
        junior_teaches=junior_teaches,
        senior_teaches=senior_teaches,
        shared_objectives=shared_objectives,
        different_departments=different_departments,
        same_site=same_site,
        meeting_modes=modes,
    )


def _skill_matches(offered: SkillLevels, wanted: SkillLevels) -> tuple[SkillMatch, ...]:
    return tuple(
        SkillMatch(skill, offered[skill], wanted[skill], skill_value(offered[skill], wanted[skill]))
        for skill in sorted(offered.keys() & wanted.keys())
    )


def _coverage(matches: tuple[SkillMatch, ...], wanted: SkillLevels) -> float:
    if not wanted:
        return 0.0
    return sum(match.value for match in matches) / (MAX_SKILL_VALUE * len(wanted))


def _objective_share(shared: frozenset[str], junior: Candidate, senior: Candidate) -> float:
    if not shared:
        return 0.0
    return len(shared) / math.sqrt(len(junior.objectives) * len(senior.objectives))


def _site_fits(same_site: bool, preference: SitePreference) -> float:
    if preference is SitePreference.SAME:
        return float(same_site)
    if preference is SitePreference.DIFFERENT:
        return float(not same_site)
    return 0.0  # the component carries no points when the program is indifferent


def _manager_line(junior: Candidate, senior: Candidate) -> bool:
    return junior.manager_employee_id == senior.employee_id or senior.manager_employee_id == junior.employee_id
