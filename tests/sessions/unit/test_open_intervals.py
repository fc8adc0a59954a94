"""The planner's fast availability expansion (per zone and window, cached across people, sliced to
the span) against the plain one it replaced: each local day from the span's start to its end, each
of that weekday's windows converted to UTC on its own, clipped. Same intervals, same order."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tandem_sessions.domain import Interval, Person
from tandem_sessions.domain.calendar import MIDNIGHT, zone

from .test_planning import people


def day_by_day(who: Person, span: Interval) -> list[Interval]:
    """The reference: every local day overlapping the span (one either side for the offsets)."""
    tz = zone(who.time_zone)
    found = []
    day = span.start.astimezone(tz).date() - timedelta(days=1)
    last = span.end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        if who.works_on(day):
            for window in sorted((w for w in who.availability if w.weekday == day.weekday()), key=lambda w: w.start):
                closing_day = day + timedelta(days=1) if window.end == MIDNIGHT else day
                opens = datetime.combine(day, window.start, tzinfo=tz).astimezone(UTC)
                closes = datetime.combine(closing_day, window.end, tzinfo=tz).astimezone(UTC)
                start, end = max(opens, span.start), min(closes, span.end)
                if start < end:
                    found.append(Interval(start, end))
        day += timedelta(days=1)
    return sorted(found)


@settings(max_examples=150, deadline=None)
@given(
    who=people(),
    day=st.dates(date(2025, 12, 20), date(2027, 12, 31)),
    hour=st.integers(0, 23),
    length=st.integers(0, 24 * 400),
)
def test_the_cached_expansion_equals_the_day_by_day_one(who: Person, day: date, hour: int, length: int) -> None:
    start = datetime.combine(day, time(hour), tzinfo=UTC)
    span = Interval(start, start + timedelta(hours=length))

    assert who.open_intervals(span) == day_by_day(who, span)
