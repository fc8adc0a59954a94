"""Enrollment commands: enroll, approve, withdraw, update a profile, erase personal data.

Commands that may take or free a place append inside a `ProgramPlaces` unit (see `places`), which
keeps capacity exact and fills freed places from the waitlist in the same transaction.
"""

from __future__ import annotations

from uuid import UUID

from tandem_kernel.commands import CommandResult, Idempotency, execute
from tandem_kernel.events import EventMetadata, NewEvent
from tandem_kernel.store import EventStore

from tandem_enrollment.application.places import ProgramPlaces
from tandem_enrollment.application.streams import PARTICIPANTS, load_program
from tandem_enrollment.domain import (
    EnrollParticipant,
    Participant,
    Program,
    UpdateParticipantProfile,
    WithdrawParticipant,
    decide_approve,
    decide_enroll,
    decide_erase,
    decide_update_profile,
    decide_withdraw,
    enrollment_id,
)

__all__ = ["approve", "enroll", "enroll_new", "erase", "update_profile", "withdraw"]


def _in_program(program_id: UUID, state: Participant | None) -> Participant | None:
    # Ids are derived from (program, employee): one from another program's URL is "not found" here.
    return state if state is not None and state.program_id == program_id else None


def _taken(places: ProgramPlaces | None) -> int:
    """The program's exact approved count, read under its lock (0 when it has no capacity)."""
    return places.approved if places is not None else 0


async def enroll(
    store: EventStore, command: EnrollParticipant, *, metadata: EventMetadata, idempotency: Idempotency | None = None
) -> CommandResult[Participant]:
    """Enroll an employee; the program approves or waitlists them at once if it decides so."""
    program = await load_program(store, command.program_id)
    participant_id = enrollment_id(program.program_id, command.employee_id)
    places = ProgramPlaces.needed(program, metadata, optimistic=True)
    now = store.clock.now()
    # After a conflict the stream exists: deciding again answers "already enrolled" (409).
    return await execute(
        store,
        PARTICIPANTS,
        participant_id,
        lambda state: decide_enroll(state, command, program=program, approved_count=_taken(places), now=now),
        metadata=metadata,
        idempotency=idempotency,
        around=places,
    )


async def enroll_new(
    store: EventStore, program: Program, command: EnrollParticipant, *, metadata: EventMetadata
) -> int:
    """Enroll an employee presumed not enrolled yet, without reading their stream (bulk imports);
    returns the position of the last event written.

    Raises `ConcurrencyError` if they are enrolled already, and whatever `decide_enroll` raises.
    """
    stream_id = PARTICIPANTS.stream_id(enrollment_id(program.program_id, command.employee_id))
    places = ProgramPlaces(program, metadata)
    async with store.transaction() as unit:
        await places.before(unit)
        now = store.clock.now()
        events = decide_enroll(None, command, program=program, approved_count=places.approved, now=now)
        result = await unit.append(
            stream_id, 0, [NewEvent(event, occurred_at=now) for event in events], metadata=metadata
        )
        await places.after(unit, events)
    return result.positions[-1]


async def approve(
    store: EventStore,
    program_id: UUID,
    participant_id: UUID,
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> CommandResult[Participant]:
    """Approve an applicant or a waitlisted participant if a place is free (an applicant meeting a
    full program is waitlisted instead)."""
    program = await load_program(store, program_id)
    places = ProgramPlaces.needed(program, metadata)
    return await execute(
        store,
        PARTICIPANTS,
        participant_id,
        lambda state: decide_approve(_in_program(program_id, state), program=program, approved_count=_taken(places)),
        metadata=metadata,
        idempotency=idempotency,
        around=places,
    )


async def withdraw(
    store: EventStore,
    program_id: UUID,
    participant_id: UUID,
    command: WithdrawParticipant,
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> CommandResult[Participant]:
    """Withdraw a participant; a place they free goes to the waitlist's first."""
    program = await load_program(store, program_id)
    places = ProgramPlaces.needed(program, metadata, admit=True)
    return await execute(
        store,
        PARTICIPANTS,
        participant_id,
        lambda state: decide_withdraw(_in_program(program_id, state), command),
        metadata=metadata,
        idempotency=idempotency,
        around=places,
    )


async def erase(
    store: EventStore,
    program_id: UUID,
    participant_id: UUID,
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> CommandResult[Participant]:
    """Erase a participant's personal data: withdraw them if needed, record the erasure and shred
    their key in one transaction. Their ids, role and status stay; their name, email and goals are
    unreadable everywhere from the commit on. Erasing twice changes nothing."""
    program = await load_program(store, program_id)
    places = ProgramPlaces.needed(program, metadata, admit=True, erasing=True)
    return await execute(
        store,
        PARTICIPANTS,
        participant_id,
        lambda state: decide_erase(_in_program(program_id, state)),
        metadata=metadata,
        idempotency=idempotency,
        around=places,
    )


async def update_profile(
    store: EventStore,
    program_id: UUID,
    participant_id: UUID,
    command: UpdateParticipantProfile,
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> CommandResult[Participant]:
    """Change some profile fields; languages and objectives must still fit the program."""
    program = await load_program(store, program_id)
    return await execute(
        store,
        PARTICIPANTS,
        participant_id,
        lambda state: decide_update_profile(_in_program(program_id, state), command, program=program),
        metadata=metadata,
        idempotency=idempotency,
    )
