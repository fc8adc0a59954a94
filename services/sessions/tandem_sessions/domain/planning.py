"""Where a pair's sessions go: one per cadence period, at the earliest time both can meet.

A pair's time from `base` to `until` is cut into periods of the program's cadence (14 days, say).
Each period without a session of the pair gets one, at the earliest start on a 15-minute grid such
that the session

- lies inside one availability window of each person, in each one's own time zone (so across a
  daylight-saving change, or between zones 10+ hours apart, the UTC hour moves as the wall clock
  demands, and a zone across the date line meets on its own working day);
- falls on a working day of each, and on no public holiday of either one's country;
- overlaps no other session of either person (`busy`: a senior may mentor two juniors), nor one
  just planned.

The candidates come from intersecting both people's open intervals, and each is then checked with
`Person.fits`, the rule itself: the search may be clever, the answer may not be wrong.

>>> outcome = plan(junior, senior, base=base, until=until, cadence=timedelta(days=14),
...                duration=timedelta(minutes=45), busy=[])
>>> outcome.starts, outcome.attention
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tandem_sessions.domain.calendar import Interval, Person
from tandem_sessions.domain.events import AttentionReason

__all__ = ["GRID", "PlanOutcome", "common_intervals", "periods", "plan"]

GRID = timedelta(minutes=15)
"""Sessions start on the quarter hour: every zone's offset is a multiple of 15 minutes, so a UTC quarter
hour is a local one everywhere."""


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """The starts planned (UTC, in order), and why some period got none, if one did."""

    starts: tuple[datetime, ...]
    unplanned_periods: int
    attention: AttentionReason | None


def _intersect(mine: Sequence[Interval], theirs: Sequence[Interval]) -> list[Interval]:
    """The overlaps of two lists sorted by start (a linear merge)."""
    common: list[Interval] = []
    i = j = 0
    while i < len(mine) and j < len(theirs):
        one, other = mine[i], theirs[j]
        start = one.start if one.start > other.start else other.start
        end = one.end if one.end < other.end else other.end
        if start < end:
            common.append(Interval(start, end))
        if one.end < other.end:
            i += 1
        else:
            j += 1
    return common


def common_intervals(a: Person, b: Person, span: Interval) -> list[Interval]:
    """When both are available within `span` (working days, no holidays), in UTC, in order."""
    return _intersect(a.open_intervals(span), b.open_intervals(span))


def _on_grid(moment: datetime) -> datetime:
    floor = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
    return floor if floor == moment else floor + GRID


class _Bookings:
    """Busy intervals sorted by start, with the longest one's length to bound the overlap search."""

    def __init__(self, busy: Iterable[Interval]) -> None:
        self._items = sorted(busy)
        self._longest = max((item.end - item.start for item in self._items), default=timedelta(0))

    def add(self, interval: Interval) -> None:
        insort(self._items, interval)
        self._longest = max(self._longest, interval.end - interval.start)

    def clash(self, candidate: Interval) -> Interval | None:
        """A booked interval overlapping `candidate`, if any."""
        first = bisect_left(self._items, Interval(candidate.start - self._longest, candidate.start))
        for item in self._items[first:]:
            if item.start >= candidate.end:
                return None
            if item.overlaps(candidate):
                return item
        return None


def _earliest_in(
    common: Iterable[Interval], a: Person, b: Person, duration: timedelta, busy: _Bookings
) -> datetime | None:
    """The earliest grid start in `common` where both can meet for `duration` and neither is booked."""
    for shared in common:
        start = _on_grid(shared.start)
        while start + duration <= shared.end:
            candidate = Interval(start, start + duration)
            clash = busy.clash(candidate)
            if clash is not None:
                start = _on_grid(clash.end)
                continue
            if a.fits(start, duration) and b.fits(start, duration):
                return start
            start += GRID
    return None


def _within(common: Sequence[Interval], starts: Sequence[datetime], window: Interval) -> Iterator[Interval]:
    """The common intervals overlapping `window`, clipped to it (`starts`: their starts, for bisect)."""
    first = max(0, bisect_left(starts, window.start) - 1)
    for shared in common[first:]:
        if shared.start >= window.end:
            return
        start, end = max(shared.start, window.start), min(shared.end, window.end)
        if start < end:
            yield Interval(start, end)


def periods(base: datetime, until: datetime, cadence: timedelta) -> list[Interval]:
    """The cadence periods from `base`, the last one cut at `until`."""
    found, start = [], base
    while start < until:
        found.append(Interval(start, min(start + cadence, until)))
        start += cadence
    return found


def plan(
    a: Person,
    b: Person,
    *,
    base: datetime,
    until: datetime,
    cadence: timedelta,
    duration: timedelta,
    busy: Iterable[Interval] = (),
    kept: Iterable[datetime] = (),
    earliest: datetime | None = None,
) -> PlanOutcome:
    """Starts for every period from `base` to `until` that has none of `kept` (the pair's sessions
    still planned), none before `earliest`; `busy` are the two people's other sessions.

    `attention` says why periods stayed empty when the pair got no session at all, or when the two
    never share a slot: `no_common_slot` if their availabilities never meet on a working day,
    `fully_booked` if they do but other sessions fill every shared slot.
    """
    bookings = _Bookings(busy)
    kept_starts = sorted(kept)
    starts: list[datetime] = []
    unplanned = 0
    overall = Interval(max(base, earliest or base), until)
    if overall.start >= overall.end:
        return PlanOutcome((), 0, None)
    # Both people's shared time over the whole span, once; each period takes its slice.
    common = common_intervals(a, b, overall)
    common_starts = [shared.start for shared in common]
    for period in periods(base, until, cadence):
        if any(period.start <= start < period.end for start in kept_starts):
            continue
        window = Interval(max(period.start, overall.start), period.end)
        if window.start >= window.end:
            continue
        slot = _earliest_in(_within(common, common_starts, window), a, b, duration, bookings)
        if slot is None:
            unplanned += 1
            continue
        starts.append(slot)
        bookings.add(Interval(slot, slot + duration))
    attention: AttentionReason | None = None
    if unplanned and not kept_starts and not starts:
        meets = any(shared.end - shared.start >= duration for shared in common)
        attention = AttentionReason.FULLY_BOOKED if meets else AttentionReason.NO_COMMON_SLOT
    return PlanOutcome(tuple(starts), unplanned, attention)
