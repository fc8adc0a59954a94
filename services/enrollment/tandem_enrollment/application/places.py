"""A program's places: capacity kept exact, and freed places given to the vetted who wait.

A command that may take or free a place runs with `ProgramPlaces` around it (the kernel's `Around`):
in the command's unit of work, before deciding, it locks the program's row in the places ledger
(`adapters.ledger`), so the decision sees the exact approved count and concurrent approvals in one
program take turns; after the append, the ledger changes in the same transaction. Programs without
a capacity skip the ledger and never wait.

Taking turns for every enrollment made a big program's launch one enrollment at a time, each
holding the lock for its whole transaction. So an enrollment (`optimistic`) into a program far from
full (more than `HEADROOM` places free) reads the count without locking: far from full, the decision
is the same at any count it could be. Its place is then added at the very end, and the count that
statement returns is checked against the capacity; if the program filled up meanwhile, the command
runs again, locking this time. The capacity stays a hard limit; only the waiting got shorter.

Waiting for a place and being approved are separate facts: when a place frees (a withdrawal, an
erasure), it goes to the earliest of the *vetted* waiting participants (`admissions`), never to one
HR has not approved, in the same transaction as the freeing: each is loaded on the unit's
connection and approved at the exact count. Who is vetted and waiting comes from the ledger,
written with the vetting itself, so a vetting a moment earlier is never missed; waitlists older than
the ledger come from the read model.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from uuid import UUID

from tandem_kernel.errors import ConcurrencyError, DomainError
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.privacy import shred
from tandem_kernel.store import EventStore, UnitOfWork

from tandem_enrollment.adapters import ledger, queries
from tandem_enrollment.application.streams import PARTICIPANTS
from tandem_enrollment.domain import (
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantStatus,
    ParticipantVetted,
    ParticipantWithdrew,
    Program,
    WaitingParticipant,
    admissions,
    decide_approve,
    has_free_place,
    person_subject,
)

__all__ = ["HEADROOM", "ProgramPlaces", "places_taken"]

HEADROOM = 50
"""Free places above which an optimistic enrollment does not lock the program's count."""

_last_seen: weakref.WeakKeyDictionary[EventStore, dict[UUID, int]] = weakref.WeakKeyDictionary()
"""The approved count of each program as this process last read or wrote it, per store (database).
An optimistic enrollment judges "far from full" by it instead of reading the count (one round trip
less): however stale — other replicas enroll too — it only chooses the path, since the count the
place is added to is checked against the capacity all the same."""


def _remember(store: EventStore, program_id: UUID, approved: int) -> None:
    _last_seen.setdefault(store, {})[program_id] = approved


def places_taken(events: Sequence[DomainEvent]) -> int:
    """How many places `events` take (approvals) minus those they free (approved people leaving)."""
    taken = 0
    for event in events:
        if isinstance(event, ParticipantApproved):
            taken += 1
        elif isinstance(event, ParticipantWithdrew) and event.previous_status is ParticipantStatus.APPROVED:
            taken -= 1
    return taken


class ProgramPlaces:
    """What changes with an enrollment command, in its unit of work (see `tandem_kernel.commands.Around`).

    After `before`, `approved` is the program's exact approved count (0 for a program without a
    capacity), its row locked until the command commits. `after` records the places taken or
    freed and who waits vetted, shreds the keys of anyone erased, and with `admit` gives freed
    places to the vetted who wait. Bulk work decides many enrollments in one unit, `count`ing each
    decision.
    """

    def __init__(
        self, program: Program, metadata: EventMetadata, *, admit: bool = False, optimistic: bool = False
    ) -> None:
        self.program = program
        self.metadata = metadata
        self.approved = 0
        self._unrecorded = 0
        self._admit = admit
        self._optimistic = optimistic and not admit
        self._locked = False
        self._freed = False
        self._decided: list[DomainEvent] = []

    @classmethod
    def needed(
        cls,
        program: Program,
        metadata: EventMetadata,
        *,
        admit: bool = False,
        erasing: bool = False,
        optimistic: bool = False,
    ) -> ProgramPlaces | None:
        """Places to hold for a command, or None when it cannot take or free a place that counts
        (an erasure always holds: the shredding must commit with it)."""
        if program.capacity is None and not erasing:
            return None
        return cls(program, metadata, admit=admit, optimistic=optimistic)

    async def before(self, unit: UnitOfWork) -> None:
        # A retried command holds again, from scratch.
        self.approved = self._unrecorded = 0
        self._freed, self._decided = False, []
        capacity = self.program.capacity
        if capacity is None:
            return
        program_id = self.program.program_id
        if self._optimistic:
            approved = _last_seen.get(unit.store, {}).get(program_id)
            if approved is None and (approved := await ledger.peek(unit.connection, program_id)) is not None:
                _remember(unit.store, program_id, approved)
            if approved is not None and capacity - approved > HEADROOM:
                self.approved, self._locked = approved, False
                return
        self.approved, self._locked = await ledger.take(unit.connection, program_id), True
        _remember(unit.store, program_id, self.approved)

    def count(self, events: Sequence[DomainEvent]) -> None:
        """Count the places `events` take or free; `after` records them in the ledger."""
        taken = places_taken(events)
        self.approved += taken
        self._unrecorded += taken
        self._freed = self._freed or taken < 0
        self._decided.extend(events)

    async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        self.count(events)
        await self._record(unit)
        for erased in (event for event in events if isinstance(event, ParticipantErased)):
            # The person's key, and the enrollment's own from before people were the subjects.
            await shred(unit.connection, person_subject(erased.employee_id))
            await shred(unit.connection, str(erased.participant_id))
        if self._admit and self._freed:
            await self._admit_waiting(unit)

    async def _record(self, unit: UnitOfWork) -> None:
        capacity = self.program.capacity
        if self._unrecorded and capacity is not None:
            approved = await ledger.add(unit.connection, self.program.program_id, self._unrecorded)
            if approved is None:  # the count last seen came from a transaction that created it, still open
                self._optimistic = False  # again, taking turns (`take` waits for that transaction)
                raise ConcurrencyError(f"places of program {self.program.program_id}", 0)
            _remember(unit.store, self.program.program_id, approved)
            if not self._locked and approved > capacity:
                self._optimistic = False  # the program filled up meanwhile: again, taking turns
                raise ConcurrencyError(f"places of program {self.program.program_id}", approved - self._unrecorded)
        self._unrecorded = 0
        vetted = [
            WaitingParticipant(e.participant_id, e.enrolled_at, True)
            for e in self._decided
            if isinstance(e, ParticipantVetted)
        ]
        # Only someone vetted in an earlier transaction can be in the ledger's line: not anyone
        # enrolled by these very decisions and not vetted by them (most enrollments, approved at
        # once: one statement less for each).
        enrolled_now = {e.participant_id for e in self._decided if isinstance(e, ParticipantEnrolled)}
        vetted_now = {waiting.participant_id for waiting in vetted}
        done = [
            e.participant_id
            for e in self._decided
            if isinstance(e, ParticipantApproved | ParticipantWithdrew)
            and (e.participant_id not in enrolled_now or e.participant_id in vetted_now)
        ]
        self._decided = []
        if (vetted or done) and self.program.capacity is not None:
            await ledger.vetting_changed(unit.connection, self.program.program_id, vetted=vetted, done=done)

    async def _admit_waiting(self, unit: UnitOfWork) -> None:
        """Give the program's free places to the vetted who wait, earliest first."""
        program = self.program
        if program.capacity is None:
            return
        line = {w.participant_id: w for w in await ledger.vetted_waiting(unit.connection, program.program_id)}
        for entry in await queries.waitlist(unit.connection, program.program_id):  # waiting since before the ledger
            if entry.vetted and entry.participant_id not in line:
                line[entry.participant_id] = WaitingParticipant(entry.participant_id, entry.enrolled_at, vetted=True)
        for participant_id in admissions(line.values(), capacity=None, approved_count=0):
            if not has_free_place(program.capacity, self.approved):
                return
            waiting = await PARTICIPANTS.load(unit, participant_id)
            try:
                events = decide_approve(waiting.state, program=program, approved_count=self.approved, automatic=True)
                await unit.append(
                    waiting.stream_id,
                    waiting.version,
                    [NewEvent(event, occurred_at=unit.store.clock.now()) for event in events],
                    metadata=self.metadata,
                )
            except (ConcurrencyError, DomainError):  # they left or changed meanwhile: the next in line
                continue
            self.count(events)
            await self._record(unit)
