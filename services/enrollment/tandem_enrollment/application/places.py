"""A program's places: capacity kept exact, and freed places given to the vetted who wait.

A command that may take or free a place appends inside `ProgramPlaces.hold()`: a transaction that
first locks the program's row in the places ledger (`adapters.ledger`), so the decision sees the
exact approved count and concurrent approvals in one program take turns; the ledger changes in the
same transaction. Programs without a capacity skip the ledger and never wait.

Waiting for a place and being approved are separate facts: when a place frees (a withdrawal, an
erasure), it goes to the earliest of the *vetted* waiting participants (`admissions`), never to one
HR has not approved. Right after the freeing command commits, and before it answers, each of them
is approved by a command of its own (`admit_waiting`): loaded, then decided in its own hold with
the exact count. Who is vetted and waiting comes from the ledger, written with the vetting itself,
so a vetting a moment earlier is never missed; waitlists older than the ledger come from the read
model. Should the process stop in between, the place stays free until the next place frees.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
from tandem_kernel.commands import execute
from tandem_kernel.errors import DomainError
from tandem_kernel.events import DomainEvent, EventMetadata
from tandem_kernel.privacy import shred
from tandem_kernel.store import EventStore

from tandem_enrollment.adapters import ledger, queries
from tandem_enrollment.application.streams import PARTICIPANTS
from tandem_enrollment.domain import (
    ParticipantApproved,
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

__all__ = ["ProgramPlaces", "admit_waiting", "places_taken"]


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
    """The unit enrollment commands append in (see `tandem_kernel.commands.Unit`).

    Inside `hold()`, `approved` is the program's exact approved count (0 for a program without a
    capacity) and `connection` the transaction holding its lock. After the append, `appended`
    records the places taken or freed and who waits vetted, and shreds the erased's keys (erasing
    needs `transaction`, so that the shredding commits with the erasure); with `admit`,
    places freed go to the vetted who wait once it committed (`admit_waiting`). Bulk work decides
    many enrollments in one hold, `count`ing each decision and passing them all to `appended`.
    """

    def __init__(
        self,
        store: EventStore,
        program: Program,
        metadata: EventMetadata,
        *,
        transaction: bool = False,
        admit: bool = False,
    ) -> None:
        self.store = store
        self.program = program
        self.metadata = metadata
        self.connection: asyncpg.Connection | None = None
        self.approved = 0
        self._unrecorded = 0
        self._transaction = transaction
        self._admit = admit
        self._freed = False
        self._decided: list[DomainEvent] = []

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[ProgramPlaces]:
        self.approved = self._unrecorded = 0  # a retried command holds again, from scratch
        self._freed = False
        self._decided = []
        if self.program.capacity is None and not self._transaction:
            yield self
            return
        async with self.store.pool.acquire() as connection, connection.transaction():
            self.connection = connection
            if self.program.capacity is not None:
                self.approved = await ledger.take(connection, self.program.program_id)
            try:
                yield self
            finally:
                self.connection = None
        self.store.appended.send()  # committed: wake the relay and the projection now
        if self._admit and self._freed:
            await admit_waiting(self.store, self.program, self.metadata)

    def count(self, events: Sequence[DomainEvent]) -> None:
        """Count the places `events` take or free; `appended` records them in the ledger."""
        taken = places_taken(events)
        self.approved += taken
        self._unrecorded += taken
        self._freed = self._freed or taken < 0
        self._decided.extend(events)

    async def appended(self, events: Sequence[DomainEvent]) -> None:
        self.count(events)
        await self._record()
        await self._record_vetting(self._decided)
        self._decided = []
        for erased in (event for event in events if isinstance(event, ParticipantErased)):
            assert self.connection is not None, "erasing holds a transaction"
            # The person's key, and the enrollment's own from before people were the subjects.
            await shred(self.connection, person_subject(erased.employee_id))
            await shred(self.connection, str(erased.participant_id))

    async def _record(self) -> None:
        if self._unrecorded and self.program.capacity is not None:
            assert self.connection is not None
            await ledger.add(self.connection, self.program.program_id, self._unrecorded)
        self._unrecorded = 0

    async def _record_vetting(self, events: Sequence[DomainEvent]) -> None:
        vetted = [
            WaitingParticipant(e.participant_id, e.enrolled_at, True)
            for e in events
            if isinstance(e, ParticipantVetted)
        ]
        done = [e.participant_id for e in events if isinstance(e, ParticipantApproved | ParticipantWithdrew)]
        # Without a connection there is no capacity, so nobody ever waits: nothing to record.
        if (vetted or done) and self.connection is not None:
            await ledger.vetting_changed(self.connection, self.program.program_id, vetted=vetted, done=done)


async def admit_waiting(store: EventStore, program: Program, metadata: EventMetadata) -> int:
    """Give the program's free places to the vetted who wait, earliest first; returns how many got one."""
    if program.capacity is None:
        return 0
    line = {waiting.participant_id: waiting for waiting in await ledger.vetted_waiting(store.pool, program.program_id)}
    for entry in await queries.waitlist(store.pool, program.program_id):  # waiting since before the ledger
        if entry.vetted and entry.participant_id not in line:
            line[entry.participant_id] = WaitingParticipant(entry.participant_id, entry.enrolled_at, vetted=True)
    admitted = 0
    for participant_id in admissions(line.values(), capacity=None, approved_count=0):
        held = ProgramPlaces(store, program, metadata)
        try:
            await execute(
                store,
                PARTICIPANTS,
                participant_id,
                lambda state, held=held: decide_approve(  # type: ignore[misc]
                    state, program=program, approved_count=held.approved, automatic=True
                ),
                metadata=metadata,
                unit=held.hold,
            )
            admitted += 1
        except DomainError:  # they left or were approved meanwhile; or the program is full again
            if not has_free_place(program.capacity, held.approved):
                break
    return admitted
