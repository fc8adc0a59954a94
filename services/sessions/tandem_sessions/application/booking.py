"""What a decision about a pair's times needs to know, read and locked in its transaction: both
people's calendars and their other sessions.

Both people are locked (advisory locks, in id order) before their bookings are read, so two pairs
of the same senior planned or moved at once never book the same hour twice.

    booking = Booking(pair_id, span_of=lambda booking, schedule: Interval(start, start + duration))
    await execute(store, SCHEDULES, pair_id, lambda s: decide(s, suits=booking.suits(start, duration)), around=booking)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from tandem_kernel.events import DomainEvent
from tandem_kernel.store import UnitOfWork

from tandem_sessions.adapters import directory, ledger
from tandem_sessions.adapters.directory import ActivePair, Profile, ProgramTerms
from tandem_sessions.application.streams import SCHEDULES
from tandem_sessions.domain.calendar import Interval, Person
from tandem_sessions.domain.schedule import PairSchedule

__all__ = ["Booking", "lock_people"]


async def lock_people(connection: asyncpg.Connection, people: Sequence[UUID]) -> None:
    """Hold `people`'s booking locks until the transaction ends, taken one after the other in a
    stable order (no deadlock between two batches of people), in one round trip."""
    keys = [f"booking:{person}" for person in sorted(set(people), key=str)]
    await connection.execute(
        # unnest yields the keys in the array's order, and the locks are taken as it scans.
        "SELECT count(pg_advisory_xact_lock(hashtextextended(key, 7))) FROM unnest($1::text[]) AS key",
        keys,
    )


class Booking:
    """An `Around` for the command: the pair, its program, both profiles and their bookings over
    `span_of(booking, schedule)` (the schedule is loaded for it only if `span_needs_schedule`)."""

    def __init__(
        self,
        pair_id: UUID,
        span_of: Callable[[Booking, PairSchedule | None], Interval | None],
        *,
        span_needs_schedule: bool = False,
    ) -> None:
        self.pair_id = pair_id
        self._span_of = span_of
        self._needs_schedule = span_needs_schedule
        self.pair: ActivePair | None = None
        self.terms: ProgramTerms | None = None
        self.profiles: dict[UUID, Profile] = {}
        self.busy: list[Interval] = []

    async def before(self, unit: UnitOfWork) -> None:
        self.pair, self.terms = await directory.load_pair_and_terms(unit.connection, self.pair_id)
        if self.pair is None:
            return
        people = [self.pair.ref.junior_id, self.pair.ref.senior_id]
        await lock_people(unit.connection, people)
        self.profiles = await directory.load_people(unit.connection, people)
        schedule = (await SCHEDULES.load(unit, self.pair_id)).state if self._needs_schedule else None
        span = self._span_of(self, schedule)
        self.busy = [] if span is None else await ledger.busy_of(unit.connection, people, span)

    async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        return None

    def people(self) -> tuple[Person, Person] | None:
        """Junior and senior as planning sees them; None while one of them is unknown (or erased)."""
        if self.pair is None:
            return None
        junior = self.profiles.get(self.pair.ref.junior_id)
        senior = self.profiles.get(self.pair.ref.senior_id)
        if junior is None or senior is None or not junior.fields or not senior.fields:
            return None
        return junior.person(), senior.person()

    def suits(self, start: datetime, duration: timedelta, *, ignoring: Interval | None = None) -> bool:
        """Whether both can meet at `start` for `duration`, clear of their other sessions (`ignoring`
        the slot of the session being moved)."""
        people = self.people()
        if people is None:
            return False
        candidate = Interval(start, start + duration)
        clashes = (booked for booked in self.busy if booked != ignoring and candidate.overlaps(booked))
        return all(person.fits(start, duration) for person in people) and next(clashes, None) is None
