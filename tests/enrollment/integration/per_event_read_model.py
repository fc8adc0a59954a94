"""The enrollment read model as it was before batching: one SQL statement per event.

Kept as the specification the batched read model (`tandem_enrollment.adapters.read_model`) is
checked against: same tables, same rows, from the same history.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from tandem_enrollment.adapters.read_model import DDL
from tandem_enrollment.domain import (
    PERSONAL_FIELDS,
    PROFILE_FIELDS,
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantStatus,
    ParticipantVetted,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    ProgramClosed,
    ProgramCreated,
    ProgramEligibilityChanged,
    ProgramObjectivesChanged,
    ProgramOpened,
    ProgramStarted,
    ProgramStatus,
)
from tandem_kernel.consumers import EventHandler
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection

__all__ = ["per_event_projection"]

# Profile fields kept in the jsonb document rather than in columns of their own.
_DOCUMENT_FIELDS = frozenset(PROFILE_FIELDS) - PERSONAL_FIELDS - {"department", "site"}


def _document(event: DomainEvent, names: frozenset[str]) -> str:
    return json.dumps(event.model_dump(mode="json", include=set(names)))


# -- programs ----------------------------------------------------------------------------------


async def _program_created(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, ProgramCreated)
    await connection.execute(
        "INSERT INTO programs (program_id, status, terms, created_at, updated_at, version)"
        " VALUES ($1, $2, $3::jsonb, $4, $4, $5)",
        event.program_id,
        ProgramStatus.DRAFT.value,
        event.model_dump_json(exclude={"program_id"}),
        envelope.occurred_at,
        envelope.stream_version,
    )


async def _program_terms_changed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, ProgramObjectivesChanged | ProgramEligibilityChanged)
    await connection.execute(
        "UPDATE programs SET terms = terms || $2::jsonb, updated_at = $3, version = $4 WHERE program_id = $1",
        event.program_id,
        event.model_dump_json(exclude={"program_id"}),
        envelope.occurred_at,
        envelope.stream_version,
    )


def _program_became(status: ProgramStatus) -> EventHandler:
    async def handle(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        await connection.execute(
            "UPDATE programs SET status = $2, updated_at = $3, version = $4 WHERE program_id = $1",
            envelope.payload.program_id,  # type: ignore[attr-defined]
            status.value,
            envelope.occurred_at,
            envelope.stream_version,
        )

    return handle


# -- participants ------------------------------------------------------------------------------


async def _enrolled(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, ParticipantEnrolled)
    await connection.execute(
        "INSERT INTO participants (participant_id, program_id, employee_id, role, status, department, site,"
        " display_name, email, personal_goals, profile, enrolled_at, updated_at, version)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14)",
        event.participant_id,
        event.program_id,
        event.employee_id,
        event.role.value,
        ParticipantStatus.APPLIED.value,
        event.department,
        event.site,
        event.display_name,
        event.email,
        event.personal_goals,
        _document(event, _DOCUMENT_FIELDS),
        event.enrolled_at,
        envelope.occurred_at,
        envelope.stream_version,
    )


async def _touch(envelope: EventEnvelope, connection: asyncpg.Connection, assignments: str, *values: Any) -> None:
    """Update the participant of `envelope`: `assignments` use $4 onwards, bound to `values`."""
    await connection.execute(
        f"UPDATE participants SET {assignments}, updated_at = $2, version = $3 WHERE participant_id = $1",
        envelope.payload.participant_id,  # type: ignore[attr-defined]
        envelope.occurred_at,
        envelope.stream_version,
        *values,
    )


async def _approved(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    await _touch(envelope, connection, "status = $4, vetted = true", ParticipantStatus.APPROVED.value)


async def _waitlisted(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    # In an auto-approving program, everyone waiting is approved in principle by the program itself.
    await _touch(
        envelope,
        connection,
        "status = $4, vetted = vetted OR coalesce((SELECT (terms->>'auto_approve')::boolean FROM programs"
        " WHERE programs.program_id = participants.program_id), false)",
        ParticipantStatus.WAITLISTED.value,
    )


async def _vetted(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    await _touch(envelope, connection, "vetted = $4", True)


async def _withdrew(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, ParticipantWithdrew)
    await _touch(
        envelope, connection, "status = $4, withdrawal_reason = $5", ParticipantStatus.WITHDRAWN.value, event.reason
    )


async def _profile_updated(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, ParticipantProfileUpdated)
    changed = frozenset(event.changed_fields)
    columns = sorted(changed & (PERSONAL_FIELDS | {"department", "site"}))
    assignments = [f"{name} = ${n}" for n, name in enumerate(columns, start=5)]
    await _touch(
        envelope,
        connection,
        ", ".join(["profile = profile || $4::jsonb", *assignments]),
        _document(event, changed & _DOCUMENT_FIELDS),
        *(getattr(event, name) for name in columns),
    )


async def _erased(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, ParticipantErased)
    await _touch(envelope, connection, "display_name = NULL, email = NULL, personal_goals = NULL, erased = $4", True)


per_event_projection = Projection(
    "participants_per_event",
    read_schema="enrollment_read_per_event",
    ddl=DDL,
    handlers={
        ProgramCreated: _program_created,
        ProgramObjectivesChanged: _program_terms_changed,
        ProgramEligibilityChanged: _program_terms_changed,
        ProgramOpened: _program_became(ProgramStatus.OPEN),
        ProgramStarted: _program_became(ProgramStatus.RUNNING),
        ProgramClosed: _program_became(ProgramStatus.CLOSED),
        ParticipantEnrolled: _enrolled,
        ParticipantApproved: _approved,
        ParticipantWaitlisted: _waitlisted,
        ParticipantVetted: _vetted,
        ParticipantWithdrew: _withdrew,
        ParticipantProfileUpdated: _profile_updated,
        ParticipantErased: _erased,
    },
)
"""The read model applied one event, one statement at a time."""
