"""The clock every decision reads: injectable, so tests and demos can move time.

Domain code never calls `datetime.now()`: commands take `now` from the HTTP edge (`NowDep`), jobs
and policies from `runtime.clock`, and the event store stamps events with it (`EventStore.clock`)
unless a command says when they occurred. In production that is the system clock. In development and
tests it can be a `SettableClock`, which the simulation moves week by week (see `devclock`).

>>> clock = SettableClock(datetime(2026, 9, 1, 9, 0, tzinfo=UTC))
>>> clock.advance(timedelta(days=7)); clock.now()
datetime.datetime(2026, 9, 8, 9, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SettableClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """A clock that keeps running from where it was set: `now()` = the set time + real time since."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0) if start is None else start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("set the clock to a timezone-aware moment")
        self._offset = moment - datetime.now(UTC)

    def advance(self, by: timedelta) -> None:
        self._offset += by

    @property
    def offset(self) -> timedelta:
        return self._offset
