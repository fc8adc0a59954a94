"""Builders and hypothesis strategies for pairing pools: readable defaults, random pools that bite."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any
from uuid import UUID

from hypothesis import strategies as st
from tandem_pairing.domain import (
    AvailabilityWindow,
    Candidate,
    MeetingPreference,
    PairingSettings,
    Role,
    SitePreference,
    Weights,
)

WINTER_WEEK = date(2026, 1, 5)  # a Monday with standard time in Europe and North America
_ids = iter(range(1, 1 << 30))


def window(weekday: int, start: str, end: str) -> AvailabilityWindow:
    """`window(0, "09:00", "12:00")`: Mondays 9 to 12, local time."""
    return AvailabilityWindow(weekday, time.fromisoformat(start), time.fromisoformat(end))


WEEKDAY_MORNINGS = tuple(window(day, "09:00", "12:00") for day in range(5))


def candidate(role: Role = Role.JUNIOR, **overrides: Any) -> Candidate:
    """A candidate who fits almost anyone: override only what a test is about."""
    number = next(_ids)
    fields: dict[str, Any] = {
        "participant_id": UUID(int=number),
        "employee_id": f"E{number}",
        "role": role,
        "department": f"department-{number}",
        "site": "Lyon",
        "time_zone": "Europe/Paris",
        "languages": frozenset({"en"}),
        "skills_offered": {},
        "skills_wanted": {},
        "objectives": frozenset(),
        "availability": WEEKDAY_MORNINGS,
        "meeting_preference": MeetingPreference.EITHER,
    }
    fields.update(overrides)
    return Candidate(**fields)


def junior(**overrides: Any) -> Candidate:
    return candidate(Role.JUNIOR, **overrides)


def senior(**overrides: Any) -> Candidate:
    return candidate(Role.SENIOR, **overrides)


def settings(**overrides: Any) -> PairingSettings:
    return PairingSettings(**{"reference_week": WINTER_WEEK, **overrides})


@dataclass(frozen=True)
class Pool:
    """A generated pool: juniors and seniors sorted by id, forbidden pairs and program settings."""

    juniors: list[Candidate]
    seniors: list[Candidate]
    forbidden: frozenset[tuple[UUID, UUID]]
    settings: PairingSettings

    @property
    def everyone(self) -> list[Candidate]:
        return [*self.juniors, *self.seniors]


ZONES = ["Europe/Paris", "Europe/London", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "UTC"]
SKILLS = ["genai", "excel", "social", "negotiation", "leadership"]
WEEKS = [WINTER_WEEK, date(2026, 3, 9), date(2026, 3, 30), date(2026, 7, 6)]  # around DST changes


def _window(weekday: int, start: int, length: int) -> AvailabilityWindow:
    end = min(start + length, 1440)
    return AvailabilityWindow(weekday, time(start // 60, start % 60), time(end // 60 % 24, end % 60))


# Any minute, not just quarter hours: overlap must be exact however windows are cut. Few weekdays,
# so that windows meet often; a Monday in the east still wraps to Sunday in UTC.
windows = st.builds(_window, st.integers(0, 2), st.integers(0, 1439), st.integers(1, 1440))

weights = st.builds(Weights, **{name: st.floats(0, 10, allow_nan=False) for name in Weights.model_fields}).filter(
    lambda w: w.junior_teaches + w.availability > 0
)

program_settings = st.builds(
    PairingSettings,
    reference_week=st.sampled_from(WEEKS),
    weights=weights | st.just(Weights()),
    session_minutes=st.integers(30, 60),
    site_preference=st.sampled_from(SitePreference),
)

# Strategies are built once: building them inside the pool loop would cost more than drawing from them.
_skill_levels = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3)
_profiles = st.fixed_dictionaries(
    {
        "department": st.sampled_from(["it", "hr", "sales"]),
        "site": st.sampled_from(["Lyon", "Paris", "Pune"]),
        "time_zone": st.sampled_from(ZONES),
        "languages": st.frozensets(st.sampled_from(["en", "fr", "hi"]), min_size=1, max_size=2),
        "skills_offered": _skill_levels,
        "skills_wanted": _skill_levels,
        "objectives": st.frozensets(st.sampled_from(["a", "b", "c", "d"]), max_size=3),
        "availability": st.lists(windows, min_size=1, max_size=4).map(tuple),
        "meeting_preference": st.sampled_from(MeetingPreference),
    }
)


@st.composite
def pools(draw: st.DrawFn, max_side: int = 6, max_capacity: int = 1) -> Pool:
    """Small random pools where every hard constraint and every component comes into play."""
    sizes = (draw(st.integers(0, max_side)), draw(st.integers(0, max_side)))
    count = sum(sizes)
    employees = [f"E{i}" for i in range(count)]
    ids = draw(st.lists(st.integers(0, 1 << 64), min_size=count, max_size=count, unique=True))
    managers = st.none() | st.sampled_from(employees) if employees else st.none()
    capacities = st.integers(1, max_capacity)
    people = [
        Candidate(
            participant_id=UUID(int=ids[i]),
            employee_id=employees[i],
            manager_employee_id=draw(managers),
            role=Role.JUNIOR if i < sizes[0] else Role.SENIOR,
            capacity=draw(capacities),
            **draw(_profiles),
        )
        for i in range(count)
    ]
    juniors = sorted((c for c in people if c.role is Role.JUNIOR), key=lambda c: c.participant_id)
    seniors = sorted((c for c in people if c.role is Role.SENIOR), key=lambda c: c.participant_id)
    forbidden: frozenset[tuple[UUID, UUID]] = frozenset()
    if juniors and seniors:
        pair = st.tuples(
            st.sampled_from([c.participant_id for c in juniors]), st.sampled_from([c.participant_id for c in seniors])
        )
        forbidden = draw(st.frozensets(pair, max_size=3))
    return Pool(juniors, seniors, forbidden, draw(program_settings))
