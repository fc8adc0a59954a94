"""Program commands: create, change objectives or eligibility, open, start, close."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from tandem_kernel.commands import CommandResult, Idempotency, execute
from tandem_kernel.commands import create as kernel_create
from tandem_kernel.events import DomainEvent, EventMetadata
from tandem_kernel.store import EventStore

from tandem_enrollment.application.streams import PROGRAMS
from tandem_enrollment.domain import (
    ChangeEligibilityRules,
    ChangeProgramObjectives,
    CreateProgram,
    Program,
    decide_change_eligibility,
    decide_change_objectives,
    decide_close_program,
    decide_create_program,
    decide_open_program,
    decide_start_program,
)

__all__ = ["change_eligibility", "change_objectives", "close", "create", "open_", "start"]

Decision = Callable[[Program | None], Sequence[DomainEvent]]


async def create(
    store: EventStore, command: CreateProgram, *, metadata: EventMetadata, idempotency: Idempotency | None = None
) -> CommandResult[Program]:
    """Create a program in draft under a new id (a retry with the same key finds the first one)."""
    return await kernel_create(
        store,
        PROGRAMS,
        lambda program_id: decide_create_program(None, command, program_id=program_id),
        metadata=metadata,
        idempotency=idempotency,
    )


async def _change(
    store: EventStore, program_id: UUID, decide: Decision, metadata: EventMetadata, idempotency: Idempotency | None
) -> CommandResult[Program]:
    # Program decisions depend on the program's stream alone: deciding again after a conflict is safe.
    return await execute(store, PROGRAMS, program_id, decide, metadata=metadata, idempotency=idempotency)


async def change_objectives(
    store: EventStore,
    program_id: UUID,
    command: ChangeProgramObjectives,
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> CommandResult[Program]:
    """Replace the catalogue of objectives (draft or open programs)."""
    decide: Decision = lambda state: decide_change_objectives(state, command)  # noqa: E731
    return await _change(store, program_id, decide, metadata, idempotency)


async def change_eligibility(
    store: EventStore,
    program_id: UUID,
    command: ChangeEligibilityRules,
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> CommandResult[Program]:
    """Replace the eligibility rules (draft or open programs)."""
    decide: Decision = lambda state: decide_change_eligibility(state, command)  # noqa: E731
    return await _change(store, program_id, decide, metadata, idempotency)


async def open_(
    store: EventStore, program_id: UUID, *, metadata: EventMetadata, idempotency: Idempotency | None = None
) -> CommandResult[Program]:
    """Open a draft program for enrollment."""
    return await _change(store, program_id, decide_open_program, metadata, idempotency)


async def start(
    store: EventStore, program_id: UUID, *, metadata: EventMetadata, idempotency: Idempotency | None = None
) -> CommandResult[Program]:
    """Start an open program: enrollment ends."""
    return await _change(store, program_id, decide_start_program, metadata, idempotency)


async def close(
    store: EventStore, program_id: UUID, *, metadata: EventMetadata, idempotency: Idempotency | None = None
) -> CommandResult[Program]:
    """Close a running program."""
    return await _change(store, program_id, decide_close_program, metadata, idempotency)
