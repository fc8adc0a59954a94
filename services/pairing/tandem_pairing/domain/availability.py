"""Weekly availability on one clock: local windows become UTC minutes of a reference week.

The week is treated as a cycle: a window that crosses Sunday midnight in UTC (Monday 00:30 in Paris is
Sunday 22:30 UTC) wraps to the start of the week, because the same slots repeat every week.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from tandem_pairing.domain.participants import MINUTES_PER_DAY, AvailabilityWindow

__all__ = ["MINUTES_PER_WEEK", "WeeklyIntervals", "overlap_minutes", "utc_week_intervals"]

MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

WeeklyIntervals = tuple[tuple[int, int], ...]
"""Sorted, disjoint, half-open [start, end) spans in UTC minutes after the reference Monday 00:00 UTC."""


def utc_week_intervals(windows: Iterable[AvailabilityWindow], time_zone: str, reference_week: date) -> WeeklyIntervals:
    """Convert local weekly windows to merged UTC spans of the reference week.

    >>> utc_week_intervals([AvailabilityWindow(0, time(0, 30), time(2))], "Europe/Paris", date(2026, 1, 5))
    ((0, 60), (10050, 10080))
    """
    spans: list[tuple[int, int]] = []
    for window in windows:
        spans.extend(_utc_spans(time_zone, reference_week, window.weekday, window.start_minute, window.end_minute))
    return _merged(spans)


def overlap_minutes(first: WeeklyIntervals, second: WeeklyIntervals) -> int:
    """Minutes per week in which both sets of spans are available.

    >>> overlap_minutes(((0, 60), (120, 180)), ((30, 150),))
    60
    """
    total, i, j = 0, 0, 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        total += max(0, end - start)
        # Advance whichever span ends first; the other may still overlap the next one.
        if first[i][1] <= second[j][1]:
            i += 1
        else:
            j += 1
    return total


# Pools repeat the same (zone, weekday, hours) combinations many times; zone arithmetic is the slow part.
@lru_cache(maxsize=1 << 16)
def _utc_spans(
    time_zone: str, reference_week: date, weekday: int, start_minute: int, end_minute: int
) -> tuple[tuple[int, int], ...]:
    zone = ZoneInfo(time_zone)
    local_midnight = datetime.combine(reference_week + timedelta(days=weekday), time(), tzinfo=zone)
    week_start = datetime.combine(reference_week, time(), tzinfo=UTC)

    def utc_minute(minute_of_day: int) -> int:
        # Adding a timedelta to an aware datetime moves the wall clock; the offset is that of the result.
        local = local_midnight + timedelta(minutes=minute_of_day)
        return int((local.astimezone(UTC) - week_start).total_seconds()) // 60

    start = utc_minute(start_minute)
    length = utc_minute(end_minute) - start
    if length <= 0:  # a window entirely inside a daylight-saving gap does not exist
        return ()
    start %= MINUTES_PER_WEEK
    end = start + length
    if end <= MINUTES_PER_WEEK:
        return ((start, end),)
    return ((start, MINUTES_PER_WEEK), (0, end - MINUTES_PER_WEEK))


def _merged(spans: list[tuple[int, int]]) -> WeeklyIntervals:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)
