"""The people in a program's pairing pool, as the pairing service sees them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MINUTES_PER_DAY",
    "AvailabilityWindow",
    "Candidate",
    "MeetingPreference",
    "Role",
    "SkillLevels",
]

MINUTES_PER_DAY = 24 * 60
MIN_LEVEL, MAX_LEVEL = 1, 5

SkillLevels = Mapping[str, int]
"""Skill code -> level, 1 (beginner) to 5 (expert)."""


class Role(StrEnum):
    """Which side of the tandem a participant is on: juniors mentor seniors on digital topics."""

    JUNIOR = "junior"
    SENIOR = "senior"


class MeetingPreference(StrEnum):
    """How a participant wants to meet. `EITHER` accepts both concrete modes."""

    REMOTE = "remote"
    IN_PERSON = "in_person"
    EITHER = "either"

    @property
    def modes(self) -> frozenset[MeetingPreference]:
        """The concrete modes (`REMOTE`, `IN_PERSON`) this preference accepts."""
        return _MODES[self]


_MODES = {
    MeetingPreference.REMOTE: frozenset({MeetingPreference.REMOTE}),
    MeetingPreference.IN_PERSON: frozenset({MeetingPreference.IN_PERSON}),
    MeetingPreference.EITHER: frozenset({MeetingPreference.REMOTE, MeetingPreference.IN_PERSON}),
}


@dataclass(frozen=True, slots=True)
class AvailabilityWindow:
    """A weekly slot in the participant's own time zone, e.g. Tuesdays 09:00-11:30.

    `weekday` is 0 (Monday) to 6 (Sunday). An `end` of 00:00 means midnight at the end of the day,
    so a window never spans two days; give two windows for that.

    >>> AvailabilityWindow(1, time(9), time(11, 30)).minutes
    150
    """

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        if self.end_minute <= self.start_minute:
            raise ValueError(f"availability window ends ({self.end}) before it starts ({self.start})")

    @property
    def start_minute(self) -> int:
        """Minutes after local midnight at which the window opens."""
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        """Minutes after local midnight at which the window closes (1440 for an `end` of 00:00)."""
        minute = self.end.hour * 60 + self.end.minute
        return minute or MINUTES_PER_DAY

    @property
    def minutes(self) -> int:
        """How long the window lasts on the wall clock."""
        return self.end_minute - self.start_minute


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    # ZoneInfo's own cache holds zones weakly: validating 40,000 candidates would read the zone files
    # again and again. Unknown names raise, and are not cached.
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enrolled, non-withdrawn participant of a program, with what pairing needs to know.

    Skill mappings are frozen on construction so a candidate can be shared safely between rounds.

    >>> Candidate(
    ...     participant_id=UUID(int=1), employee_id="E1", role=Role.JUNIOR,
    ...     department="IT", site="Lyon", time_zone="Europe/Paris", languages=frozenset({"fr"}),
    ...     skills_offered={"genai": 4}, skills_wanted={"negotiation": 2},
    ...     objectives=frozenset({"visibility"}),
    ...     availability=(AvailabilityWindow(0, time(9), time(12)),),
    ...     meeting_preference=MeetingPreference.EITHER,
    ... ).capacity
    1
    """

    participant_id: UUID
    employee_id: str
    role: Role
    department: str
    site: str
    time_zone: str
    languages: frozenset[str]
    skills_offered: SkillLevels
    skills_wanted: SkillLevels
    objectives: frozenset[str]
    availability: tuple[AvailabilityWindow, ...]
    meeting_preference: MeetingPreference
    manager_employee_id: str | None = None
    capacity: int = 1

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {self.capacity}")
        for skills in (self.skills_offered, self.skills_wanted):
            for skill, level in skills.items():
                if not MIN_LEVEL <= level <= MAX_LEVEL:
                    raise ValueError(f"level of {skill!r} must be {MIN_LEVEL}..{MAX_LEVEL}, not {level}")
        try:  # fail on construction, not in the middle of a round
            _zone(self.time_zone)
        except (ValueError, ZoneInfoNotFoundError) as unknown:
            raise ValueError(f"unknown IANA time zone {self.time_zone!r}") from unknown
        # Employee ids do not tell people apart by case (`p-j2w` is `P-J2W`); events older than that rule may differ.
        object.__setattr__(self, "employee_id", self.employee_id.upper())
        if self.manager_employee_id is not None:
            object.__setattr__(self, "manager_employee_id", self.manager_employee_id.upper())
        object.__setattr__(self, "skills_offered", MappingProxyType(dict(self.skills_offered)))
        object.__setattr__(self, "skills_wanted", MappingProxyType(dict(self.skills_wanted)))
        object.__setattr__(self, "languages", frozenset(self.languages))
        object.__setattr__(self, "objectives", frozenset(self.objectives))
        object.__setattr__(self, "availability", tuple(self.availability))
