"""The read model: programs and participants as the GET endpoints serve them, folded from events.

One projection (`participants_v2`, schema `enrollment_read_v2`), run by the kernel a batch at a time
(events as the store keeps them, `StoredEvent`s: the payload's JSON with personal fields already
opened, or `None` once erased; a connection whose `search_path` points at the schema being built,
so the SQL names tables without a schema).
Personal data sits in its own columns (`display_name`, `email`, `personal_goals`) so that
`ParticipantErased` can null exactly them; the rest of the profile is one jsonb document.

What each event does to a row is a pure function below (`PROGRAM_CHANGES`, `PARTICIPANT_CHANGES`):
the one definition of the read model. A batch loads the rows its events touch (one query per
table), folds the events over them in order, and writes the rows it changed back (per table, one
COPY of the rows it created, one upsert of those it loaded: `ReadTable.write_back`), so catching up
and rebuilding cost a few statements per batch instead of one per event.
Given a single event (as when the kernel looks for the one a batch fails on), it does the same.
The kernel applies a batch and moves the checkpoint in one transaction (each batch once); a batch
that fails is rolled back and applied again event by event, and the fold keeps nothing between
calls, so nothing of the failed try remains. As the per-event INSERTs did, creating a row that
exists fails (that event is parked), and changing a row that does not exist changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

import asyncpg
from pydantic_core import from_json, to_json
from tandem_kernel.events import DomainEvent
from tandem_kernel.projections import Projection
from tandem_kernel.read_tables import ReadTable, Row
from tandem_kernel.store import ParsedIds, StoredEvent

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

Change = Callable[[Row | None, StoredEvent, Mapping[UUID, Row]], Row | None]
"""What one event does to its row (None: there is none), given the programs' rows as they stand.

Events come as the store keeps them (`StoredEvent`: the payload's JSON object, personal fields
opened), not as models: the fold reads a few fields, and building the models cost most of a
catch-up. The JSON form is the model's own dump, so a value read here is the model's value in JSON
(ids and times as strings, enums as their values): what the columns get is what the model gives."""


def _json(value: Any) -> str:
    # pydantic-core's encoder: the JSON of json.dumps (compact), in under half its time.
    return to_json(value).decode()


def _document(data: Mapping[str, Any], names: Iterable[str]) -> str:
    """The JSON object of `names` of an event's data: the model's dump of those fields (jsonb reads
    it as the same document however the keys are ordered)."""
    return _json({name: data[name] for name in names})


def _merged(document: str, changes: str) -> str:
    """`document || changes` for two JSON objects, as PostgreSQL's jsonb does it: changes win."""
    return _json({**from_json(document), **from_json(changes)})


def _touch(row: Row, event: StoredEvent, **changes: Any) -> Row:
    # Changed in place: a batch loads its rows fresh (or builds them) and keeps nothing after it,
    # so no one else holds this dict (copying every row for each of its events was a third of the fold).
    row.update(changes)
    row["updated_at"], row["version"] = event.occurred_at, event.stream_version
    return row


def _new(row: Row | None, event: StoredEvent) -> None:
    if row is not None:  # as the INSERT of a per-event handler would fail on the primary key
        raise ValueError(f"{event.stream_id} already has a row: {event.event_type} cannot create it")


def _updating(change: Callable[[Row, StoredEvent, Mapping[UUID, Row]], Row]) -> Change:
    """A change of an existing row; an event whose row does not exist changes nothing (as an UPDATE)."""

    def apply(row: Row | None, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row | None:
        return None if row is None else change(row, event, programs)

    return apply


# -- programs ----------------------------------------------------------------------------------


def _terms(data: Mapping[str, Any]) -> str:
    return _json({name: value for name, value in data.items() if name != "program_id"})


def _program_created(row: Row | None, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    _new(row, event)
    return {
        "program_id": UUID(event.data["program_id"]),
        "status": ProgramStatus.DRAFT.value,
        "terms": _terms(event.data),
        "created_at": event.occurred_at,
        "updated_at": event.occurred_at,
        "version": event.stream_version,
    }


@_updating
def _program_terms_changed(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    return _touch(row, event, terms=_merged(row["terms"], _terms(event.data)))


def _program_became(status: ProgramStatus) -> Change:
    @_updating
    def change(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
        return _touch(row, event, status=status.value)

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


def _enrolled(row: Row | None, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    _new(row, event)
    data = event.data
    return {
        "participant_id": UUID(data["participant_id"]),  # (a new row: parsed once in its life)
        "program_id": UUID(data["program_id"]),
        "employee_id": data["employee_id"],
        "role": data["role"],
        "status": ParticipantStatus.APPLIED.value,
        "department": data["department"],
        "site": data["site"],
        "display_name": data["display_name"],
        "email": data["email"],
        "personal_goals": data["personal_goals"],
        "profile": _document(data, _DOCUMENT_FIELDS),
        "withdrawal_reason": None,
        "erased": False,
        "vetted": False,
        "enrolled_at": datetime.fromisoformat(data["enrolled_at"]),
        "updated_at": event.occurred_at,
        "version": event.stream_version,
    }


@_updating
def _approved(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    return _touch(row, event, status=ParticipantStatus.APPROVED.value, vetted=True)


@lru_cache(maxsize=64)
def _auto_approves(terms: str) -> bool:
    return json.loads(terms).get("auto_approve") is True


@_updating
def _waitlisted(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    # In an auto-approving program, everyone waiting is approved in principle by the program itself.
    program = programs.get(row["program_id"])
    auto_approved = program is not None and _auto_approves(program["terms"])
    return _touch(row, event, status=ParticipantStatus.WAITLISTED.value, vetted=row["vetted"] or auto_approved)


@_updating
def _vetted(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    return _touch(row, event, vetted=True)


@_updating
def _withdrew(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    return _touch(row, event, status=ParticipantStatus.WITHDRAWN.value, withdrawal_reason=event.data["reason"])


@_updating
def _profile_updated(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    data = event.data
    changed = frozenset(data["changed_fields"])
    columns = {name: data[name] for name in changed & _PROFILE_COLUMNS}
    return _touch(
        row, event, profile=_merged(row["profile"], _document(data, sorted(changed & _DOCUMENT_FIELDS))), **columns
    )


@_updating
def _erased(row: Row, event: StoredEvent, programs: Mapping[UUID, Row]) -> Row:
    return _touch(row, event, display_name=None, email=None, personal_goals=None, erased=True)


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

# By stored type name: what the fold looks up (it sees no models).
_PROGRAM_CHANGES = {model.event_type: change for model, change in PROGRAM_CHANGES.items()}
_PARTICIPANT_CHANGES = {model.event_type: change for model, change in PARTICIPANT_CHANGES.items()}
_FOLDED = _PROGRAM_CHANGES.keys() | _PARTICIPANT_CHANGES.keys()


# -- a batch -----------------------------------------------------------------------------------


@dataclass
class ReadRows:
    """The rows a batch reads and writes, by id, and which of them it changed."""

    programs: dict[UUID, Row] = field(default_factory=dict)
    participants: dict[UUID, Row] = field(default_factory=dict)
    changed_programs: set[UUID] = field(default_factory=set)
    changed_participants: set[UUID] = field(default_factory=set)
    ids: ParsedIds = field(default_factory=ParsedIds)  # ids as the events spell them: each parsed once


def fold(rows: ReadRows, events: Sequence[StoredEvent]) -> None:
    """Apply `events` in order to `rows` (no I/O): each row ends as the events one by one leave it.

    Rows are changed in place: `rows` is the batch's own (loaded for it, or built by it)."""
    for event in events:
        if (change := _PARTICIPANT_CHANGES.get(event.event_type)) is not None:
            table, changed, key = rows.participants, rows.changed_participants, rows.ids[event.data["participant_id"]]
        elif (change := _PROGRAM_CHANGES.get(event.event_type)) is not None:
            table, changed, key = rows.programs, rows.changed_programs, rows.ids[event.data["program_id"]]
        else:
            continue
        row = change(table.get(key), event, rows.programs)
        if row is not None:
            table[key] = row
            changed.add(key)


async def _apply_batch(events: Sequence[StoredEvent], connection: asyncpg.Connection) -> None:
    participant_ids = {e.data["participant_id"] for e in events if e.event_type in _PARTICIPANT_CHANGES}
    # A waitlisting reads its program's terms: the programs of every participant in the batch.
    program_ids = {e.data["program_id"] for e in events if e.event_type in _FOLDED}
    rows = ReadRows()
    rows.participants = await PARTICIPANTS.load(connection, [rows.ids[text] for text in participant_ids])
    loading = {rows.ids[text] for text in program_ids} | {row["program_id"] for row in rows.participants.values()}
    rows.programs = await PROGRAMS.load(connection, loading)
    loaded_programs, loaded_participants = set(rows.programs), set(rows.participants)
    fold(rows, events)
    changed_programs = (rows.programs[key] for key in rows.changed_programs)
    await PROGRAMS.write_back(connection, changed_programs, loaded=loaded_programs)
    changed_participants = (rows.participants[key] for key in rows.changed_participants)
    await PARTICIPANTS.write_back(connection, changed_participants, loaded=loaded_participants)


participants_projection = Projection(PROJECTION, read_schema=READ_SCHEMA, ddl=DDL, batch=_apply_batch, stored=True)
"""The read model's projection, registered in the service spec."""
