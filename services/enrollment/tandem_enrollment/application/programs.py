"""Program commands: create, change objectives or eligibility, open, start, close."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID, uuid4

from tandem_kernel.commands import CommandResult, execute, scoped
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
    store: EventStore, command: CreateProgram, *, metadata: EventMetadata, idempotency_key: str | None = None
) -> CommandResult[Program]:
    """Create a program in draft under a new id."""
    program_id = uuid4()
    idempotency_key = scoped("program.create", idempotency_key)
    if idempotency_key is not None:
        # A retried creation must find the program the first request made, not make another.
        earlier = await store.recorded_append(idempotency_key)
        if earlier is not None and (key := PROGRAMS.key_of(earlier.stream_id)) is not None:
            program_id = UUID(key)
    return await execute(
        store,
        PROGRAMS,
        program_id,
        lambda state: decide_create_program(state, command, program_id=program_id),
        metadata=metadata,
        idempotency_key=idempotency_key,
    )


async def _change(
    operation: str,
    store: EventStore,
    program_id: UUID,
    decide: Decision,
    metadata: EventMetadata,
    idempotency_key: str | None,
) -> CommandResult[Program]:
    # Program decisions depend on the program's stream alone: deciding again after a conflict is safe.
    key = scoped(f"program.{operation}", idempotency_key)
    return await execute(store, PROGRAMS, program_id, decide, metadata=metadata, idempotency_key=key)


async def change_objectives(
    store: EventStore,
    program_id: UUID,
    command: ChangeProgramObjectives,
    *,
    metadata: EventMetadata,
    idempotency_key: str | None = None,
) -> CommandResult[Program]:
    """Replace the catalogue of objectives (draft or open programs)."""
    decide: Decision = lambda state: decide_change_objectives(state, command)  # noqa: E731
    return await _change("objectives", store, program_id, decide, metadata, idempotency_key)


async def change_eligibility(
    store: EventStore,
    program_id: UUID,
    command: ChangeEligibilityRules,
    *,
    metadata: EventMetadata,
    idempotency_key: str | None = None,
) -> CommandResult[Program]:
    """Replace the eligibility rules (draft or open programs)."""
    decide: Decision = lambda state: decide_change_eligibility(state, command)  # noqa: E731
    return await _change("eligibility", store, program_id, decide, metadata, idempotency_key)


async def open_(
    store: EventStore, program_id: UUID, *, metadata: EventMetadata, idempotency_key: str | None = None
) -> CommandResult[Program]:
    """Open a draft program for enrollment."""
    return await _change("open", store, program_id, decide_open_program, metadata, idempotency_key)


async def start(
    store: EventStore, program_id: UUID, *, metadata: EventMetadata, idempotency_key: str | None = None
) -> CommandResult[Program]:
    """Start an open program: enrollment ends."""
    return await _change("start", store, program_id, decide_start_program, metadata, idempotency_key)


async def close(
    store: EventStore, program_id: UUID, *, metadata: EventMetadata, idempotency_key: str | None = None
) -> CommandResult[Program]:
    """Close a running program."""
    return await _change("close", store, program_id, decide_close_program, metadata, idempotency_key)
