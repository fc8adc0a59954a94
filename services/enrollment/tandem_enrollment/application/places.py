"""A program's places: capacity kept exact, and freed places filled from the waitlist.

A command that may take or free a place appends inside `ProgramPlaces.hold()`: a transaction that
first locks the program's row in the places ledger (`adapters.ledger`), so the decision sees the
exact approved count and concurrent approvals in one program take turns; the ledger changes in the
same transaction. Programs without a capacity skip the ledger and never wait.

When a place frees (a withdrawal, an erasure), the same transaction approves the earliest
waitlisted people (`admissions` order) while places remain. It learns who waits from the read
model, and appends each approval at the stream version the read model saw: if the read model was
behind, that append fails and the next person in line is considered instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
from tandem_kernel.errors import ConcurrencyError, InvalidTransition
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.privacy import shred
from tandem_kernel.store import EventStore

from tandem_enrollment.adapters import ledger, queries
from tandem_enrollment.application.streams import PARTICIPANTS
from tandem_enrollment.domain import (
    Participant,
    ParticipantApproved,
    ParticipantProfile,
    ParticipantStatus,
    ParticipantWithdrew,
    Program,
    WaitingParticipant,
    admissions,
    decide_approve,
    has_free_place,
)

__all__ = ["ProgramPlaces", "places_taken"]


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
    records the places taken or freed, shreds `erased`'s key, and with `admit` fills freed places
    from the waitlist. Bulk work decides many enrollments in one hold, `count`ing each decision.
    """

    def __init__(
        self,
        store: EventStore,
        program: Program,
        metadata: EventMetadata,
        *,
        transaction: bool = False,
        admit: bool = False,
        erased: UUID | None = None,
    ) -> None:
        self.store = store
        self.program = program
        self.metadata = metadata
        self.connection: asyncpg.Connection | None = None
        self.approved = 0
        self._unrecorded = 0
        self._transaction = transaction or erased is not None
        self._admit = admit
        self._erased = erased

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[ProgramPlaces]:
        self.approved = self._unrecorded = 0  # a retried command holds again, from scratch
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

    def count(self, events: Sequence[DomainEvent]) -> None:
        """Count the places `events` take or free; `appended` records them in the ledger."""
        taken = places_taken(events)
        self.approved += taken
        self._unrecorded += taken

    async def appended(self, events: Sequence[DomainEvent]) -> None:
        self.count(events)
        await self._record()
        if self._erased is not None:
            assert self.connection is not None
            await shred(self.connection, str(self._erased))
        if self._admit:
            await self._admit_from_waitlist()

    async def _record(self) -> None:
        if self._unrecorded and self.program.capacity is not None:
            assert self.connection is not None
            await ledger.add(self.connection, self.program.program_id, self._unrecorded)
        self._unrecorded = 0

    async def _admit_from_waitlist(self) -> None:
        """Approve waitlisted people, earliest first, while the program has free places."""
        program, connection = self.program, self.connection
        if program.capacity is None or not has_free_place(program.capacity, self.approved):
            return
        assert connection is not None
        # Only this transaction's connection: see tandem_kernel.commands on reading through the pool.
        waiting = {entry.participant_id: entry for entry in await queries.waitlist(connection, program.program_id)}
        line = [WaitingParticipant(entry.participant_id, entry.enrolled_at) for entry in waiting.values()]
        for participant_id in admissions(line, capacity=None, approved_count=0):
            if not has_free_place(program.capacity, self.approved):
                return
            entry = waiting[participant_id]
            # What deciding an approval needs of them; the version guards against a stale read model.
            state = Participant(
                participant_id=entry.participant_id,
                program_id=entry.program_id,
                employee_id=entry.employee_id,
                role=entry.role,
                status=ParticipantStatus.WAITLISTED,
                enrolled_at=entry.enrolled_at,
                profile=ParticipantProfile.model_construct(),
            )
            try:
                events = decide_approve(state, program=program, approved_count=self.approved, automatic=True)
                await self.store.append(
                    PARTICIPANTS.stream_id(participant_id),
                    entry.version,
                    [NewEvent(event) for event in events],
                    metadata=self.metadata,
                    connection=connection,
                )
            except ConcurrencyError:
                continue  # they changed since the read model looked; the append's savepoint rolled back
            except InvalidTransition:
                return  # the program no longer approves anyone
            self.count(events)
            await self._record()
