"""A program's places: capacity kept exact, and freed places filled from the waitlist.

A command that may take or free a place runs with `ProgramPlaces` around it (the kernel's `Around`):
in the command's unit of work, before deciding, it locks the program's row in the places ledger
(`adapters.ledger`), so the decision sees the exact approved count and concurrent approvals in one
program take turns; after the append, the ledger changes in the same transaction. Programs without
a capacity skip the ledger and never wait.

When a place frees (a withdrawal, an erasure), the same transaction approves the earliest
waitlisted people (`admissions` order) while places remain. It learns who waits from the read
model, and appends each approval at the stream version the read model saw: if the read model was
behind, that append fails and the next person in line is considered instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from tandem_kernel.errors import ConcurrencyError, InvalidTransition
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.privacy import shred
from tandem_kernel.store import UnitOfWork

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
    """What changes with an enrollment command, in its unit of work (see `tandem_kernel.commands.Around`).

    After `before`, `approved` is the program's exact approved count (0 for a program without a
    capacity), its row locked until the command commits. `after` records the places taken or
    freed, shreds `erased`'s key, and with `admit` fills freed places from the waitlist. Bulk work
    decides many enrollments in one unit, `count`ing each decision.
    """

    def __init__(
        self, program: Program, metadata: EventMetadata, *, admit: bool = False, erased: UUID | None = None
    ) -> None:
        self.program = program
        self.metadata = metadata
        self.approved = 0
        self._unrecorded = 0
        self._admit = admit
        self._erased = erased

    @classmethod
    def needed(
        cls, program: Program, metadata: EventMetadata, *, admit: bool = False, erased: UUID | None = None
    ) -> ProgramPlaces | None:
        """Places to hold for a command, or None when it cannot take or free one that counts."""
        if program.capacity is None and erased is None:
            return None
        return cls(program, metadata, admit=admit, erased=erased)

    async def before(self, unit: UnitOfWork) -> None:
        self.approved = self._unrecorded = 0  # a retried command holds again, from scratch
        if self.program.capacity is not None:
            self.approved = await ledger.take(unit.connection, self.program.program_id)

    def count(self, events: Sequence[DomainEvent]) -> None:
        """Count the places `events` take or free; `after` records them in the ledger."""
        taken = places_taken(events)
        self.approved += taken
        self._unrecorded += taken

    async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        self.count(events)
        await self._record(unit)
        if self._erased is not None:
            await shred(unit.connection, str(self._erased))
        if self._admit:
            await self._admit_from_waitlist(unit)

    async def _record(self, unit: UnitOfWork) -> None:
        if self._unrecorded and self.program.capacity is not None:
            await ledger.add(unit.connection, self.program.program_id, self._unrecorded)
        self._unrecorded = 0

    async def _admit_from_waitlist(self, unit: UnitOfWork) -> None:
        """Approve waitlisted people, earliest first, while the program has free places."""
        program = self.program
        if program.capacity is None or not has_free_place(program.capacity, self.approved):
            return
        waiting = {entry.participant_id: entry for entry in await queries.waitlist(unit.connection, program.program_id)}
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
                await unit.append(
                    PARTICIPANTS.stream_id(participant_id),
                    entry.version,
                    [NewEvent(event) for event in events],
                    metadata=self.metadata,
                )
            except ConcurrencyError:
                continue  # they changed since the read model looked
            except InvalidTransition:
                return  # the program no longer approves anyone
            self.count(events)
            await self._record(unit)
