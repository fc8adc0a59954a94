"""The read model: rounds, proposals and pairs as the GET endpoints serve them, folded from events.

One projection (`pairs_v2`, schema `pairing_read_v2`), run and rebuildable by the kernel; it names
tables without a schema (the runner sets `search_path`); `read_queries` reads the live schema.
A round and its proposals come from here together: a round's proposals are appended in the
transaction that completes it, so once this read model shows a round completed it shows every
proposal of it too.

What each event does to its row is a pure function below (`PROPOSAL_CHANGES`, `ROUND_CHANGES`): the
one definition of the read model. A batch loads the rows its events touch (one query per table),
folds the events over them in order, and writes the rows it changed back with one upsert per table:
a few statements per batch, not one per event, when the model catches up or is rebuilt. The fold
keeps nothing between calls: a batch the kernel rolls back and applies again event by event (to
find the one it fails on) starts from the stored rows. A proposal or a round started twice keeps
the first; a change to a row that does not exist changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection
from tandem_kernel.read_tables import ReadTable, Row

from tandem_pairing.domain.events import (
    PairActivated,
    PairBecameInfeasible,
    PairEnded,
    PairEvent,
    PairingRoundCompleted,
    PairingRoundFailed,
    PairingRoundStarted,
    PairProposed,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ProposalReminderDue,
    ProposalWithdrawn,
    RoundEvent,
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

Change = Callable[[Row | None, EventEnvelope], Row | None]
"""What one event does to its row (given None when there is none); None when it changes nothing."""


def _updating(change: Callable[[Row, EventEnvelope], Row]) -> Change:
    """A change of an existing row; an event whose row does not exist changes nothing (as an UPDATE)."""

    def apply(row: Row | None, envelope: EventEnvelope) -> Row | None:
        return None if row is None else change(row, envelope)

    return apply


# -- proposals and pairs -----------------------------------------------------------------------


def _proposed(row: Row | None, envelope: EventEnvelope) -> Row | None:
    event = envelope.payload
    assert isinstance(event, PairProposed)
    if row is not None:  # proposed again (a retried round): the first proposal stands
        return None
    columns: dict[str, Any] = dict.fromkeys(PROPOSALS.columns)
    return columns | {
        "pair_id": event.pair_id,
        "program_id": event.program_id,
        "round_id": event.round_id,
        "junior_id": event.junior_id,
        "senior_id": event.senior_id,
        "status": "proposed",
        "score": event.score,
        "breakdown": event.breakdown.model_dump_json(),
        "pinned": event.pinned,
        "proposed_at": event.proposed_at,
        "remind_at": event.remind_at,
        "expires_at": event.expires_at,
    }


@_updating
def _accepted(row: Row, envelope: EventEnvelope) -> Row:
    event = envelope.payload
    assert isinstance(event, ProposalAccepted)
    return row | {f"{event.role.value}_accepted_at": envelope.occurred_at}  # junior_ or senior_accepted_at


@_updating
def _activated(row: Row, envelope: EventEnvelope) -> Row:
    event = envelope.payload
    assert isinstance(event, PairActivated)
    return row | {"status": "active", "activated_at": event.activated_at, "rotation_due_at": event.rotation_due_at}


@_updating
def _reminded(row: Row, envelope: EventEnvelope) -> Row:
    assert isinstance(envelope.payload, ProposalReminderDue)
    return row | {"reminded_at": envelope.occurred_at}


@_updating
def _closed(row: Row, envelope: EventEnvelope) -> Row:
    """Declined, expired, withdrawn or ended: the pair is over, for a reason, maybe because of someone."""
    event = envelope.payload
    closed_by: UUID | None = None
    reason: str | None = None
    closed_at = envelope.occurred_at
    match event:
        case ProposalDeclined():
            status, closed_by, reason = "declined", event.participant_id, event.reason.value
        case ProposalExpired():
            status = "expired"
        case ProposalWithdrawn():
            status, closed_by, reason = "withdrawn", event.left_participant_id, event.reason.value
        case PairEnded():
            status, closed_by, reason = "ended", event.left_participant_id, event.reason.value
            closed_at = event.ended_at
        case _:
            raise TypeError(f"not a closing event: {type(event).__name__}")
    return row | {"status": status, "closed_by": closed_by, "reason": reason, "closed_at": closed_at}


@_updating
def _flagged(row: Row, envelope: EventEnvelope) -> Row:
    event = envelope.payload
    assert isinstance(event, PairBecameInfeasible)
    since = row["infeasible_since"] if row["infeasible_since"] is not None else event.detected_at
    return row | {"violations": json.dumps(list(event.violations)), "infeasible_since": since}


PROPOSAL_CHANGES: Mapping[type[DomainEvent], Change] = {
    PairProposed: _proposed,
    ProposalAccepted: _accepted,
    PairActivated: _activated,
    ProposalReminderDue: _reminded,
    ProposalDeclined: _closed,
    ProposalExpired: _closed,
    ProposalWithdrawn: _closed,
    PairEnded: _closed,
    PairBecameInfeasible: _flagged,
}
"""What each pair event does to its row of `proposals`."""


# -- rounds ------------------------------------------------------------------------------------


def _round_started(row: Row | None, envelope: EventEnvelope) -> Row | None:
    event = envelope.payload
    assert isinstance(event, PairingRoundStarted)
    if row is not None:
        return None
    columns: dict[str, Any] = dict.fromkeys(ROUNDS.columns)
    return columns | {
        "round_id": event.round_id,
        "program_id": event.program_id,
        "kind": event.kind.value,
        "status": "running",
        "started_at": event.started_at,
    }


@_updating
def _round_completed(row: Row, envelope: EventEnvelope) -> Row:
    event = envelope.payload
    assert isinstance(event, PairingRoundCompleted)
    return row | {
        "status": "completed",
        "finished_at": event.completed_at,
        "pool_size": event.pool_size,
        "matched": event.matched,
        "unmatched_count": event.unmatched_count,
        "rotated_pairs": event.rotated_pairs,
        "total_score": event.total_score,
        "unmatched": json.dumps([u.model_dump(mode="json") for u in event.unmatched]),
        "rejected_pins": json.dumps([p.model_dump(mode="json") for p in event.rejected_pins]),
    }


@_updating
def _round_failed(row: Row, envelope: EventEnvelope) -> Row:
    event = envelope.payload
    assert isinstance(event, PairingRoundFailed)
    return row | {"status": "failed", "finished_at": event.failed_at, "failure": event.reason}


ROUND_CHANGES: Mapping[type[DomainEvent], Change] = {
    PairingRoundStarted: _round_started,
    PairingRoundCompleted: _round_completed,
    PairingRoundFailed: _round_failed,
}
"""What each round event does to its row of `rounds`."""


# -- a batch -----------------------------------------------------------------------------------


@dataclass
class ReadRows:
    """The rows a batch reads and writes, by id, and which of them it changed."""

    proposals: dict[UUID, Row] = field(default_factory=dict)
    rounds: dict[UUID, Row] = field(default_factory=dict)
    changed_proposals: set[UUID] = field(default_factory=set)
    changed_rounds: set[UUID] = field(default_factory=set)


def fold(rows: ReadRows, events: Sequence[EventEnvelope]) -> None:
    """Apply `events` in order to `rows` (no I/O): each row ends as the events one by one leave it."""
    for envelope in events:
        event = envelope.payload
        if (change := PROPOSAL_CHANGES.get(type(event))) is not None:
            assert isinstance(event, PairEvent)
            table, changed, key = rows.proposals, rows.changed_proposals, event.pair_id
        elif (change := ROUND_CHANGES.get(type(event))) is not None:
            assert isinstance(event, RoundEvent)
            table, changed, key = rows.rounds, rows.changed_rounds, event.round_id
        else:
            continue
        row = change(table.get(key), envelope)
        if row is not None:
            table[key] = row
            changed.add(key)


async def _apply_batch(events: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
    rows = ReadRows(
        await PROPOSALS.load(connection, {e.payload.pair_id for e in events if isinstance(e.payload, PairEvent)}),
        await ROUNDS.load(connection, {e.payload.round_id for e in events if isinstance(e.payload, RoundEvent)}),
    )
    fold(rows, events)
    await PROPOSALS.upsert(connection, (rows.proposals[key] for key in rows.changed_proposals))
    await ROUNDS.upsert(connection, (rows.rounds[key] for key in rows.changed_rounds))


pairs_projection = Projection(PROJECTION, read_schema=READ_SCHEMA, ddl=DDL, batch=_apply_batch)
"""Rounds, and proposals and pairs by id, by round and by participant."""
