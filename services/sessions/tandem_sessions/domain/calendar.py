"""A person's week as the planner sees it: weekly availability in their own time zone, their working
days, and their country's public holidays.

All instants are timezone-aware UTC; a person's windows are wall-clock times in their zone, so the
same window lands on different UTC hours across a daylight-saving change. `fits` is the one rule
every planned or moved session obeys: it starts and ends on one local working day, not a holiday,
inside one of that weekday's windows, for each of the two people.

>>> person = Person(junior_id, "Europe/Paris", "FR", (Window(0, time(9), time(12)),))
>>> person.fits(datetime(2026, 3, 2, 8, tzinfo=UTC), timedelta(hours=1))   # Monday 09:00 in Paris
True
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["DEFAULT_WEEKEND", "Interval", "Person", "Window", "public_holidays", "weekend_of", "zone"]

log = logging.getLogger("tandem.sessions.calendar")

DEFAULT_WEEKEND = frozenset({5, 6})
"""Saturday and Sunday (Python weekdays), for a country the holidays library does not know."""

MIDNIGHT = time(0)


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly slot in the person's time zone (0 = Monday); an `end` of 00:00 is midnight at the day's end."""

    weekday: int
    start: time
    end: time

    def closes_at(self, day: date) -> datetime:
        """The window's end on `day`, as a naive local datetime (00:00 means the next midnight)."""
        if self.end == MIDNIGHT:
            return datetime.combine(day + timedelta(days=1), MIDNIGHT)
        return datetime.combine(day, self.end)


class Interval(NamedTuple):
    """[start, end) in UTC. A named tuple, not a dataclass: planning a year for thousands of pairs
    builds, sorts and compares millions of them, and a tuple does that in C."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; UTC (and a log line) for a name this machine's tz database lacks."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: planning in UTC", name)
        return ZoneInfo("UTC")


@cache
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays of `country` (ISO 3166 alpha-2) in `year`; none for a country the library lacks."""
    try:
        found = holidays.country_holidays(country.upper(), years=year)
    except NotImplementedError:
        log.warning("no public holidays known for country %r: only weekends are off", country)
        return frozenset()
    return frozenset(found.keys())


@cache
def weekend_of(country: str) -> frozenset[int]:
    """The weekly days off in `country` (Friday and Saturday in some), by the holidays library."""
    try:
        return frozenset(holidays.country_holidays(country.upper()).weekend)
    except NotImplementedError:
        return DEFAULT_WEEKEND


@dataclass(frozen=True, slots=True)
class Person:
    """One participant, as planning needs them."""

    participant_id: UUID
    time_zone: str
    country: str
    availability: tuple[Window, ...]

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.time_zone)

    def works_on(self, day: date) -> bool:
        """A local working day: not a weekend day of their country, not one of its public holidays."""
        return _working_day(self.country, day)

    def local(self, instant: datetime) -> datetime:
        """`instant` on this person's wall clock (naive)."""
        return instant.astimezone(self.tz).replace(tzinfo=None)

    def fits(self, start: datetime, duration: timedelta) -> bool:
        """Whether [start, start + duration) lies inside one window of one local working day."""
        local_start, local_end = self.local(start), self.local(start + duration)
        day = local_start.date()
        if not self.works_on(day):
            return False
        # A local span shorter or longer than `duration` crosses a daylight-saving change: the wall
        # clock jumped inside the meeting, which a window of wall-clock times cannot promise.
        if local_end - local_start != duration:
            return False
        for window in self.availability:
            if window.weekday != day.weekday():
                continue
            if datetime.combine(day, window.start) <= local_start and local_end <= window.closes_at(day):
                return True
        return False

    def open_intervals(self, span: Interval) -> list[Interval]:
        """This person's available UTC intervals on working days overlapping `span`, clipped to it,
        in order."""
        first_year = (span.start.astimezone(self.tz) - _DAY).year
        last_year = (span.end.astimezone(self.tz) + _DAY).year
        week = _weeks(self.time_zone, self.country, self.availability, first_year, last_year)
        starts, intervals = week.starts, week.intervals
        # Only intervals starting within `_LONGEST` of the span's ends can cross them: the others
        # are taken whole, as one slice.
        first, inside = bisect_left(starts, span.start - _LONGEST), bisect_left(starts, span.start)
        whole_until = max(inside, bisect_left(starts, span.end - _LONGEST))
        last = bisect_left(starts, span.end)
        found = [
            Interval(max(interval.start, span.start), min(interval.end, span.end))
            for interval in intervals[first:inside]
            if interval.end > span.start
        ]
        found += intervals[inside:whole_until]
        found += (Interval(interval.start, min(interval.end, span.end)) for interval in intervals[whole_until:last])
        found.sort()
        return found


_DAY = timedelta(days=1)
_LONGEST = timedelta(hours=25)
"""No open interval lasts longer: a window ends by the next midnight, and a daylight-saving change
adds at most an hour."""


@dataclass(frozen=True, slots=True)
class _Weeks:
    """Someone's open intervals over whole local years, in order, with their starts (for bisect)."""

    intervals: tuple[Interval, ...]
    starts: tuple[datetime, ...]


# Why these caches: thousands of people share a zone, a country and the same few hours of the same
# weekday, so a year of pairs converts each such window once, not once per person and day; and a
# senior's two pairs expand the senior's week once.
@lru_cache(maxsize=20_000)
def _weeks(time_zone: str, country: str, availability: tuple[Window, ...], first_year: int, last_year: int) -> _Weeks:
    intervals: list[Interval] = []
    for window in availability:
        for year in range(first_year, last_year + 1):
            intervals += _occurrences(time_zone, country, window, year)
    intervals.sort()
    return _Weeks(tuple(intervals), tuple([interval.start for interval in intervals]))


@lru_cache(maxsize=100_000)
def _occurrences(time_zone: str, country: str, window: Window, year: int) -> tuple[Interval, ...]:
    """Every occurrence of `window` on a local working day of `year`, in UTC."""
    day = date(year, 1, 1)
    day += timedelta(days=(window.weekday - day.weekday()) % 7)
    found = []
    while day.year == year:
        if _working_day(country, day):
            opens = _instant(time_zone, day, window.start)
            closes = (
                _instant(time_zone, day + _DAY, MIDNIGHT)
                if window.end == MIDNIGHT
                else _instant(time_zone, day, window.end)
            )
            if opens < closes:
                found.append(Interval(opens, closes))
        day += timedelta(days=7)
    return tuple(found)


# Shared by everyone in the same zone or country: planning a year for thousands of pairs converts the
# same wall-clock times on the same days over and over.
@lru_cache(maxsize=500_000)
def _instant(time_zone: str, day: date, wall_clock: time) -> datetime:
    """The UTC instant of `wall_clock` on `day` in `time_zone` (the first, in a repeated hour)."""
    return datetime.combine(day, wall_clock, tzinfo=zone(time_zone)).astimezone(UTC)


@lru_cache(maxsize=100_000)
def _working_day(country: str, day: date) -> bool:
    return day.weekday() not in weekend_of(country) and day not in public_holidays(country, day.year)
