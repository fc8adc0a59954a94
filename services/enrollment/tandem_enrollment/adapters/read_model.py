"""The read model: programs and participants as the GET endpoints serve them, folded from events.

One projection (`participants_v2`, schema `enrollment_read_v2`), run by the kernel: each handler gets the
event (personal fields already opened by the store, or `None` once erased) and a connection whose
`search_path` points at the schema being built, so the SQL names tables without a schema.
Personal data sits in its own columns (`display_name`, `email`, `personal_goals`) so that
`ParticipantErased` can null exactly them; the rest of the profile is one jsonb document.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from tandem_kernel.consumers import EventHandler
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection

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

__all__ = ["READ_SCHEMA", "participants_projection"]

# The version is in the names: when the tables change, a new schema is built from the whole history
# on first boot, beside the old one (drop it once nothing reads it).
READ_SCHEMA = "enrollment_read_v2"
PROJECTION = "participants_v2"

DDL = """
CREATE TABLE programs (
    program_id      uuid PRIMARY KEY,
    status          text        NOT NULL,
    terms           jsonb       NOT NULL,  -- ProgramTerms as JSON, kept current
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer     NOT NULL
);
CREATE INDEX programs_listing ON programs (created_at, program_id);

CREATE TABLE participants (
    participant_id  uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,
    employee_id     text        NOT NULL,
    role            text        NOT NULL,
    status          text        NOT NULL,
    department      text        NOT NULL,
    site            text        NOT NULL,
    display_name    text,                   -- personal: nulled on erasure
    email           text,                   -- personal
    personal_goals  text,                   -- personal
    profile         jsonb       NOT NULL,   -- the profile's other fields
    withdrawal_reason text,
    erased          boolean     NOT NULL DEFAULT false,
    vetted          boolean     NOT NULL DEFAULT false,   -- HR approved them (or the program approves all)
    enrolled_at     timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer     NOT NULL
);
CREATE INDEX participants_listing ON participants (program_id, enrolled_at, participant_id);
CREATE UNIQUE INDEX participants_employee ON participants (program_id, employee_id);
CREATE INDEX participants_waitlist ON participants (program_id, enrolled_at, participant_id)
    WHERE status = 'waitlisted';
"""

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


participants_projection = Projection(
    PROJECTION,
    read_schema=READ_SCHEMA,
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
"""The read model's projection, registered in the service spec."""
