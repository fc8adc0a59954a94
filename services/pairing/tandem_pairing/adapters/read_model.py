"""The read model: rounds, proposals and pairs as the GET endpoints serve them, folded from events.

One projection (`pairs_v2`, schema `pairing_read_v2`), run and rebuildable by the kernel a batch at a
time (events as the store keeps them, `StoredEvent`s: the payload's JSON, no models built); it names
tables without a schema (the runner sets `search_path`); `read_queries` reads the live schema.
A round and its proposals come from here together: a round's proposals are appended in the
transaction that completes it, so once this read model shows a round completed it shows every
proposal of it too.

What each event does to its row is a pure function below (`PROPOSAL_CHANGES`, `ROUND_CHANGES`): the
one definition of the read model. A batch loads the rows its events touch (one query per table),
folds the events over them in order, and writes the rows it changed back (per table, one COPY of
the rows it created, one upsert of those it loaded: `ReadTable.write_back`): a few statements per
batch, not one per event, when the model catches up or is rebuilt. The fold keeps nothing between
calls: a batch the kernel rolls back and applies again event by event (to find the one it fails on)
starts from the stored rows. A proposal or a round started twice keeps the first; a change to a row
that does not exist changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic_core import to_json
from tandem_kernel.events import DomainEvent
from tandem_kernel.projections import Projection
from tandem_kernel.read_tables import ReadTable, Row
from tandem_kernel.store import ParsedIds, StoredEvent

from tandem_pairing.domain.events import (
    PairActivated,
    PairBecameInfeasible,
    PairEnded,
    PairingRoundCompleted,
    PairingRoundFailed,
    PairingRoundStarted,
    PairProposed,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ProposalReminderDue,
    ProposalWithdrawn,
)

__all__ = ["DDL", "PROPOSAL_CHANGES", "READ_SCHEMA", "ROUND_CHANGES", "ReadRows", "fold", "pairs_projection"]

# The version is in the names: when the tables change, a new schema is built from the whole history
# on first boot, beside the old one (drop it once nothing reads it).
READ_SCHEMA = "pairing_read_v2"
PROJECTION = "pairs_v2"

DDL = """
CREATE TABLE proposals (
    pair_id             uuid PRIMARY KEY,
    program_id          uuid        NOT NULL,
    round_id            uuid        NOT NULL,
    junior_id           uuid        NOT NULL,
    senior_id           uuid        NOT NULL,
    status              text        NOT NULL,
    score               double precision NOT NULL,
    breakdown           jsonb       NOT NULL,
    pinned              boolean     NOT NULL,
    proposed_at         timestamptz NOT NULL,
    remind_at           timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    junior_accepted_at  timestamptz,
    senior_accepted_at  timestamptz,
    reminded_at         timestamptz,
    activated_at        timestamptz,
    rotation_due_at     timestamptz,
    closed_at           timestamptz,
    closed_by           uuid,       -- who declined, or who left
    reason              text,
    violations          jsonb,      -- hard rules an active pair was found breaking (PairBecameInfeasible)
    infeasible_since    timestamptz
);
CREATE INDEX proposals_of_round ON proposals (round_id, pair_id);
CREATE INDEX proposals_of_junior ON proposals (junior_id, proposed_at);
CREATE INDEX proposals_of_senior ON proposals (senior_id, proposed_at);
CREATE INDEX proposals_flagged ON proposals (program_id, infeasible_since, pair_id) WHERE violations IS NOT NULL;

CREATE TABLE rounds (
    round_id        uuid PRIMARY KEY,
    program_id      uuid        NOT NULL,
    kind            text        NOT NULL,
    status          text        NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    pool_size       integer,
    matched         integer,
    unmatched_count integer,
    rotated_pairs   integer,
    total_score     double precision,
    unmatched       jsonb,
    rejected_pins   jsonb,
    failure         text
);
CREATE INDEX rounds_of_program ON rounds (program_id, started_at, round_id);
"""


PROPOSALS = ReadTable(
    "proposals",
    key="pair_id",
    columns={
        "pair_id": "uuid",
        "program_id": "uuid",
        "round_id": "uuid",
        "junior_id": "uuid",
        "senior_id": "uuid",
        "status": "text",
        "score": "double precision",
        "breakdown": "jsonb",
        "pinned": "boolean",
        "proposed_at": "timestamptz",
        "remind_at": "timestamptz",
        "expires_at": "timestamptz",
        "junior_accepted_at": "timestamptz",
        "senior_accepted_at": "timestamptz",
        "reminded_at": "timestamptz",
        "activated_at": "timestamptz",
        "rotation_due_at": "timestamptz",
        "closed_at": "timestamptz",
        "closed_by": "uuid",
        "reason": "text",
        "violations": "jsonb",
        "infeasible_since": "timestamptz",
    },
)
ROUNDS = ReadTable(
    "rounds",
    key="round_id",
    columns={
        "round_id": "uuid",
        "program_id": "uuid",
        "kind": "text",
        "status": "text",
        "started_at": "timestamptz",
        "finished_at": "timestamptz",
        "pool_size": "integer",
        "matched": "integer",
        "unmatched_count": "integer",
        "rotated_pairs": "integer",
        "total_score": "double precision",
        "unmatched": "jsonb",
        "rejected_pins": "jsonb",
        "failure": "text",
    },
)

Change = Callable[[Row | None, StoredEvent], Row | None]
"""What one event does to its row (given None when there is none); None when it changes nothing.

Events come as the store keeps them (`StoredEvent`: the payload's JSON object), not as models: the
fold reads a few fields, and building the models cost most of a catch-up (BENCHMARKS.md, read
models). The JSON form is the model's own dump, so a value read here is the model's value in JSON:
times are parsed back (asyncpg wants datetimes), ids other than the row's key are written as their
text (asyncpg encodes a uuid from it), enums are their values, values carried as jsonb are dumped
again as they are."""


def _json(value: Any) -> str:
    # pydantic-core's encoder: the JSON of json.dumps (compact), in under half its time.
    return to_json(value).decode()


def _touch(row: Row, **changes: Any) -> Row:
    # Changed in place: a batch loads its rows fresh (or builds them) and keeps nothing after it,
    # so no one else holds this dict (a copy per event was a good part of the fold).
    row.update(changes)
    return row


def _updating(change: Callable[[Row, StoredEvent], Row]) -> Change:
    """A change of an existing row; an event whose row does not exist changes nothing (as an UPDATE)."""

    def apply(row: Row | None, event: StoredEvent) -> Row | None:
        return None if row is None else change(row, event)

    return apply


# -- proposals and pairs -----------------------------------------------------------------------


def _proposed(row: Row | None, event: StoredEvent) -> Row | None:
    if row is not None:  # proposed again (a retried round): the first proposal stands
        return None
    data = event.data
    columns: dict[str, Any] = dict.fromkeys(PROPOSALS.columns)
    columns.update(
        pair_id=data["pair_id"],  # the text: `fold` puts the parsed key in its place
        program_id=data["program_id"],
        round_id=data["round_id"],
        junior_id=data["junior_id"],
        senior_id=data["senior_id"],
        status="proposed",
        score=data["score"],
        breakdown=_json(data["breakdown"]),
        pinned=data["pinned"],
        proposed_at=datetime.fromisoformat(data["proposed_at"]),
        remind_at=datetime.fromisoformat(data["remind_at"]),
        expires_at=datetime.fromisoformat(data["expires_at"]),
    )
    return columns


@_updating
def _accepted(row: Row, event: StoredEvent) -> Row:
    return _touch(row, **{f"{event.data['role']}_accepted_at": event.occurred_at})  # junior_ or senior_accepted_at


@_updating
def _activated(row: Row, event: StoredEvent) -> Row:
    data = event.data
    return _touch(
        row,
        status="active",
        activated_at=datetime.fromisoformat(data["activated_at"]),
        rotation_due_at=datetime.fromisoformat(data["rotation_due_at"]),
    )


@_updating
def _reminded(row: Row, event: StoredEvent) -> Row:
    return _touch(row, reminded_at=event.occurred_at)


def _closing(status: str, closed_by: str | None = None, *, closed_at: str | None = None) -> Change:
    """Declined, expired, withdrawn or ended: the pair is over, maybe because of someone (the event's
    field `closed_by`), for the event's `reason` if it has one, when it happened (`closed_at`, or
    when the event occurred)."""

    @_updating
    def change(row: Row, event: StoredEvent) -> Row:
        data = event.data
        return _touch(
            row,
            status=status,
            closed_by=data[closed_by] if closed_by else None,
            reason=data.get("reason"),
            closed_at=datetime.fromisoformat(data[closed_at]) if closed_at else event.occurred_at,
        )

    return change


@_updating
def _flagged(row: Row, event: StoredEvent) -> Row:
    data = event.data
    since = row["infeasible_since"]
    return _touch(
        row,
        violations=_json(data["violations"]),
        infeasible_since=since if since is not None else datetime.fromisoformat(data["detected_at"]),
    )


PROPOSAL_CHANGES: Mapping[type[DomainEvent], Change] = {
    PairProposed: _proposed,
    ProposalAccepted: _accepted,
    PairActivated: _activated,
    ProposalReminderDue: _reminded,
    ProposalDeclined: _closing("declined", "participant_id"),
    ProposalExpired: _closing("expired"),
    ProposalWithdrawn: _closing("withdrawn", "left_participant_id"),
    PairEnded: _closing("ended", "left_participant_id", closed_at="ended_at"),
    PairBecameInfeasible: _flagged,
}
"""What each pair event does to its row of `proposals`."""


# -- rounds ------------------------------------------------------------------------------------


def _round_started(row: Row | None, event: StoredEvent) -> Row | None:
    if row is not None:
        return None
    data = event.data
    columns: dict[str, Any] = dict.fromkeys(ROUNDS.columns)
    columns.update(
        round_id=data["round_id"],  # the text: `fold` puts the parsed key in its place
        program_id=data["program_id"],
        kind=data["kind"],
        status="running",
        started_at=datetime.fromisoformat(data["started_at"]),
    )
    return columns


@_updating
def _round_completed(row: Row, event: StoredEvent) -> Row:
    data = event.data
    return _touch(
        row,
        status="completed",
        finished_at=datetime.fromisoformat(data["completed_at"]),
        pool_size=data["pool_size"],
        matched=data["matched"],
        unmatched_count=data["unmatched_count"],
        rotated_pairs=data["rotated_pairs"],
        total_score=data["total_score"],
        unmatched=_json(data["unmatched"]),
        rejected_pins=_json(data["rejected_pins"]),
    )


@_updating
def _round_failed(row: Row, event: StoredEvent) -> Row:
    data = event.data
    return _touch(row, status="failed", finished_at=datetime.fromisoformat(data["failed_at"]), failure=data["reason"])


ROUND_CHANGES: Mapping[type[DomainEvent], Change] = {
    PairingRoundStarted: _round_started,
    PairingRoundCompleted: _round_completed,
    PairingRoundFailed: _round_failed,
}
"""What each round event does to its row of `rounds`."""

# By stored type name: what the fold looks up (it sees no models).
_PROPOSAL_CHANGES = {model.event_type: change for model, change in PROPOSAL_CHANGES.items()}
_ROUND_CHANGES = {model.event_type: change for model, change in ROUND_CHANGES.items()}


# -- a batch -----------------------------------------------------------------------------------


@dataclass
class ReadRows:
    """The rows a batch reads and writes, by id, and which of them it changed."""

    proposals: dict[UUID, Row] = field(default_factory=dict)
    rounds: dict[UUID, Row] = field(default_factory=dict)
    changed_proposals: set[UUID] = field(default_factory=set)
    changed_rounds: set[UUID] = field(default_factory=set)
    ids: ParsedIds = field(default_factory=ParsedIds)  # ids as the events spell them: each parsed once


def fold(rows: ReadRows, events: Sequence[StoredEvent]) -> None:
    """Apply `events` in order to `rows` (no I/O): each row ends as the events one by one leave it.

    Rows are changed in place: `rows` is the batch's own (loaded for it, or built by it)."""
    for event in events:
        if (change := _PROPOSAL_CHANGES.get(event.event_type)) is not None:
            table, changed, column = rows.proposals, rows.changed_proposals, "pair_id"
        elif (change := _ROUND_CHANGES.get(event.event_type)) is not None:
            table, changed, column = rows.rounds, rows.changed_rounds, "round_id"
        else:
            continue
        key = rows.ids[event.data[column]]
        row = change(table.get(key), event)
        if row is not None:
            row[column] = key  # the parsed id: what loading the row gives, and what keys `table`
            table[key] = row
            changed.add(key)


async def _apply_batch(events: Sequence[StoredEvent], connection: asyncpg.Connection) -> None:
    pair_ids = {e.data["pair_id"] for e in events if e.event_type in _PROPOSAL_CHANGES}
    round_ids = {e.data["round_id"] for e in events if e.event_type in _ROUND_CHANGES}
    rows = ReadRows()
    rows.proposals = await PROPOSALS.load(connection, [rows.ids[text] for text in pair_ids])
    rows.rounds = await ROUNDS.load(connection, [rows.ids[text] for text in round_ids])
    loaded_proposals, loaded_rounds = set(rows.proposals), set(rows.rounds)
    fold(rows, events)
    changed_proposals = (rows.proposals[key] for key in rows.changed_proposals)
    await PROPOSALS.write_back(connection, changed_proposals, loaded=loaded_proposals)
    await ROUNDS.write_back(connection, (rows.rounds[key] for key in rows.changed_rounds), loaded=loaded_rounds)


pairs_projection = Projection(PROJECTION, read_schema=READ_SCHEMA, ddl=DDL, batch=_apply_batch, stored=True)
"""Rounds, and proposals and pairs by id, by round and by participant."""
