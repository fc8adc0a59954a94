"""The read model: programs and participants as the GET endpoints serve them, folded from events.

One projection (`participants_v2`, schema `enrollment_read_v2`), run by the kernel a batch at a time
(events with personal fields already opened by the store, or `None` once erased; a connection whose
`search_path` points at the schema being built, so the SQL names tables without a schema).
Personal data sits in its own columns (`display_name`, `email`, `personal_goals`) so that
`ParticipantErased` can null exactly them; the rest of the profile is one jsonb document.

What each event does to a row is a pure function below (`PROGRAM_CHANGES`, `PARTICIPANT_CHANGES`):
the one definition of the read model. A batch loads the rows its events touch (one query per
table), folds the events over them in order, and writes the rows it changed back with one upsert
per table, so catching up and rebuilding cost a few statements per batch instead of one per event.
Given a single event (as when the kernel looks for the one a batch fails on), it does the same.
The kernel applies a batch and moves the checkpoint in one transaction (each batch once); a batch
that fails is rolled back and applied again event by event, and the fold keeps nothing between
calls, so nothing of the failed try remains. As the per-event INSERTs did, creating a row that
exists fails (that event is parked), and changing a row that does not exist changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from uuid import UUID

import asyncpg
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection
from tandem_kernel.read_tables import ReadTable, Row

from tandem_enrollment.domain import (
    PERSONAL_FIELDS,
    PROFILE_FIELDS,
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantEvent,
    ParticipantProfileUpdated,
    ParticipantStatus,
    ParticipantVetted,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    ProgramClosed,
    ProgramCreated,
    ProgramEligibilityChanged,
    ProgramEvent,
    ProgramObjectivesChanged,
    ProgramOpened,
    ProgramStarted,
    ProgramStatus,
)

__all__ = [
    "DDL",
    "PARTICIPANT_CHANGES",
    "PROGRAM_CHANGES",
    "READ_SCHEMA",
    "ReadRows",
    "fold",
    "participants_projection",
]

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

PROGRAMS = ReadTable(
    "programs",
    key="program_id",
    columns={
        "program_id": "uuid",
        "status": "text",
        "terms": "jsonb",
        "created_at": "timestamptz",
        "updated_at": "timestamptz",
        "version": "integer",
    },
)
PARTICIPANTS = ReadTable(
    "participants",
    key="participant_id",
    columns={
        "participant_id": "uuid",
        "program_id": "uuid",
        "employee_id": "text",
        "role": "text",
        "status": "text",
        "department": "text",
        "site": "text",
        "display_name": "text",
        "email": "text",
        "personal_goals": "text",
        "profile": "jsonb",
        "withdrawal_reason": "text",
        "erased": "boolean",
        "vetted": "boolean",
        "enrolled_at": "timestamptz",
        "updated_at": "timestamptz",
        "version": "integer",
    },
)

# Profile fields kept in the jsonb document rather than in columns of their own.
_DOCUMENT_FIELDS = frozenset(PROFILE_FIELDS) - PERSONAL_FIELDS - {"department", "site"}
_PROFILE_COLUMNS = PERSONAL_FIELDS | {"department", "site"}

Change = Callable[[Row | None, EventEnvelope, Mapping[UUID, Row]], Row | None]
"""What one event does to its row (None: there is none), given the programs' rows as they stand."""


def _document(event: DomainEvent, names: frozenset[str]) -> str:
    return json.dumps(event.model_dump(mode="json", include=set(names)))


def _merged(document: str, changes: str) -> str:
    """`document || changes` for two JSON objects, as PostgreSQL's jsonb does it: changes win."""
    return json.dumps({**json.loads(document), **json.loads(changes)})


def _touch(row: Row, envelope: EventEnvelope, **changes: Any) -> Row:
    return {**row, **changes, "updated_at": envelope.occurred_at, "version": envelope.stream_version}


def _new(row: Row | None, envelope: EventEnvelope) -> None:
    if row is not None:  # as the INSERT of a per-event handler would fail on the primary key
        raise ValueError(f"{envelope.stream_id} already has a row: {envelope.event_type} cannot create it")


def _updating(change: Callable[[Row, EventEnvelope, Mapping[UUID, Row]], Row]) -> Change:
    """A change of an existing row; an event whose row does not exist changes nothing (as an UPDATE)."""

    def apply(row: Row | None, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row | None:
        return None if row is None else change(row, envelope, programs)

    return apply


# -- programs ----------------------------------------------------------------------------------


def _program_created(row: Row | None, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    _new(row, envelope)
    event = envelope.payload
    assert isinstance(event, ProgramCreated)
    return {
        "program_id": event.program_id,
        "status": ProgramStatus.DRAFT.value,
        "terms": event.model_dump_json(exclude={"program_id"}),
        "created_at": envelope.occurred_at,
        "updated_at": envelope.occurred_at,
        "version": envelope.stream_version,
    }


@_updating
def _program_terms_changed(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    event = envelope.payload
    assert isinstance(event, ProgramObjectivesChanged | ProgramEligibilityChanged)
    return _touch(row, envelope, terms=_merged(row["terms"], event.model_dump_json(exclude={"program_id"})))


def _program_became(status: ProgramStatus) -> Change:
    @_updating
    def change(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
        return _touch(row, envelope, status=status.value)

    return change


PROGRAM_CHANGES: Mapping[type[DomainEvent], Change] = {
    ProgramCreated: _program_created,
    ProgramObjectivesChanged: _program_terms_changed,
    ProgramEligibilityChanged: _program_terms_changed,
    ProgramOpened: _program_became(ProgramStatus.OPEN),
    ProgramStarted: _program_became(ProgramStatus.RUNNING),
    ProgramClosed: _program_became(ProgramStatus.CLOSED),
}
"""What each program event does to its row of `programs`."""


# -- participants ------------------------------------------------------------------------------


def _enrolled(row: Row | None, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    _new(row, envelope)
    event = envelope.payload
    assert isinstance(event, ParticipantEnrolled)
    return {
        "participant_id": event.participant_id,
        "program_id": event.program_id,
        "employee_id": event.employee_id,
        "role": event.role.value,
        "status": ParticipantStatus.APPLIED.value,
        "department": event.department,
        "site": event.site,
        "display_name": event.display_name,
        "email": event.email,
        "personal_goals": event.personal_goals,
        "profile": _document(event, _DOCUMENT_FIELDS),
        "withdrawal_reason": None,
        "erased": False,
        "vetted": False,
        "enrolled_at": event.enrolled_at,
        "updated_at": envelope.occurred_at,
        "version": envelope.stream_version,
    }


@_updating
def _approved(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    return _touch(row, envelope, status=ParticipantStatus.APPROVED.value, vetted=True)


@lru_cache(maxsize=64)
def _auto_approves(terms: str) -> bool:
    return json.loads(terms).get("auto_approve") is True


@_updating
def _waitlisted(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    # In an auto-approving program, everyone waiting is approved in principle by the program itself.
    program = programs.get(row["program_id"])
    auto_approved = program is not None and _auto_approves(program["terms"])
    return _touch(row, envelope, status=ParticipantStatus.WAITLISTED.value, vetted=row["vetted"] or auto_approved)


@_updating
def _vetted(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    return _touch(row, envelope, vetted=True)


@_updating
def _withdrew(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    event = envelope.payload
    assert isinstance(event, ParticipantWithdrew)
    return _touch(row, envelope, status=ParticipantStatus.WITHDRAWN.value, withdrawal_reason=event.reason.value)


@_updating
def _profile_updated(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    event = envelope.payload
    assert isinstance(event, ParticipantProfileUpdated)
    changed = frozenset(event.changed_fields)
    columns = {name: getattr(event, name) for name in changed & _PROFILE_COLUMNS}
    return _touch(
        row, envelope, profile=_merged(row["profile"], _document(event, changed & _DOCUMENT_FIELDS)), **columns
    )


@_updating
def _erased(row: Row, envelope: EventEnvelope, programs: Mapping[UUID, Row]) -> Row:
    assert isinstance(envelope.payload, ParticipantErased)
    return _touch(row, envelope, display_name=None, email=None, personal_goals=None, erased=True)


PARTICIPANT_CHANGES: Mapping[type[DomainEvent], Change] = {
    ParticipantEnrolled: _enrolled,
    ParticipantApproved: _approved,
    ParticipantWaitlisted: _waitlisted,
    ParticipantVetted: _vetted,
    ParticipantWithdrew: _withdrew,
    ParticipantProfileUpdated: _profile_updated,
    ParticipantErased: _erased,
}
"""What each participant event does to its row of `participants`."""


# -- a batch -----------------------------------------------------------------------------------


@dataclass
class ReadRows:
    """The rows a batch reads and writes, by id, and which of them it changed."""

    programs: dict[UUID, Row] = field(default_factory=dict)
    participants: dict[UUID, Row] = field(default_factory=dict)
    changed_programs: set[UUID] = field(default_factory=set)
    changed_participants: set[UUID] = field(default_factory=set)


def fold(rows: ReadRows, events: Sequence[EventEnvelope]) -> None:
    """Apply `events` in order to `rows` (no I/O): each row ends as the events one by one leave it."""
    for envelope in events:
        event = envelope.payload
        if (change := PROGRAM_CHANGES.get(type(event))) is not None:
            assert isinstance(event, ProgramEvent)
            table, changed, key = rows.programs, rows.changed_programs, event.program_id
        elif (change := PARTICIPANT_CHANGES.get(type(event))) is not None:
            assert isinstance(event, ParticipantEvent)
            table, changed, key = rows.participants, rows.changed_participants, event.participant_id
        else:
            continue
        row = change(table.get(key), envelope, rows.programs)
        if row is not None:
            table[key] = row
            changed.add(key)


async def _apply_batch(events: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
    participant_ids = {e.payload.participant_id for e in events if isinstance(e.payload, ParticipantEvent)}
    participants = await PARTICIPANTS.load(connection, participant_ids)
    # A waitlisting reads its program's terms: the programs of every participant in the batch.
    program_ids = {e.payload.program_id for e in events if isinstance(e.payload, ProgramEvent | ParticipantEvent)}
    programs = await PROGRAMS.load(connection, program_ids | {row["program_id"] for row in participants.values()})
    rows = ReadRows(programs, participants)
    fold(rows, events)
    await PROGRAMS.upsert(connection, (rows.programs[key] for key in rows.changed_programs))
    await PARTICIPANTS.upsert(connection, (rows.participants[key] for key in rows.changed_participants))


participants_projection = Projection(PROJECTION, read_schema=READ_SCHEMA, ddl=DDL, batch=_apply_batch)
"""The read model's projection, registered in the service spec."""
