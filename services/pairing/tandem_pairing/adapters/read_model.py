"""The read model: proposals and pairs as the GET endpoints serve them, folded from pair events.

One projection (`pairs`, schema `pairing_read`), run and rebuildable by the kernel; its handlers name
tables without a schema (the runner sets `search_path`). Queries below read the live schema.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg
from tandem_kernel.consumers import EventHandler
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection

from tandem_pairing.domain.events import (
    PairActivated,
    PairEnded,
    PairProposed,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ProposalReminderDue,
    ProposalWithdrawn,
)

__all__ = [
    "READ_SCHEMA",
    "pair_view",
    "pairs_of_participant",
    "pairs_of_participants",
    "pairs_projection",
    "proposals_of_round",
]

READ_SCHEMA = "pairing_read"

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
    reason              text
);
CREATE INDEX proposals_of_round ON proposals (round_id, pair_id);
CREATE INDEX proposals_of_junior ON proposals (junior_id, proposed_at);
CREATE INDEX proposals_of_senior ON proposals (senior_id, proposed_at);
"""


async def _proposed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, PairProposed)
    await connection.execute(
        "INSERT INTO proposals (pair_id, program_id, round_id, junior_id, senior_id, status, score, breakdown, pinned,"
        " proposed_at, remind_at, expires_at) VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $7::jsonb, $8, $9, $10, $11)"
        " ON CONFLICT (pair_id) DO NOTHING",
        event.pair_id,
        event.program_id,
        event.round_id,
        event.junior_id,
        event.senior_id,
        event.score,
        event.breakdown.model_dump_json(),
        event.pinned,
        event.proposed_at,
        event.remind_at,
        event.expires_at,
    )


async def _accepted(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, ProposalAccepted)
    column = f"{event.role.value}_accepted_at"  # junior_accepted_at or senior_accepted_at: a closed enum
    await connection.execute(
        f"UPDATE proposals SET {column} = $2 WHERE pair_id = $1", event.pair_id, envelope.occurred_at
    )


async def _activated(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, PairActivated)
    await connection.execute(
        "UPDATE proposals SET status = 'active', activated_at = $2, rotation_due_at = $3 WHERE pair_id = $1",
        event.pair_id,
        event.activated_at,
        event.rotation_due_at,
    )


async def _reminded(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, ProposalReminderDue)
    await connection.execute(
        "UPDATE proposals SET reminded_at = $2 WHERE pair_id = $1", envelope.payload.pair_id, envelope.occurred_at
    )


async def _closed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
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
    await connection.execute(
        "UPDATE proposals SET status = $2, closed_by = $3, reason = $4, closed_at = $5 WHERE pair_id = $1",
        event.pair_id,
        status,
        closed_by,
        reason,
        closed_at,
    )


HANDLERS: dict[type[DomainEvent], EventHandler] = {
    PairProposed: _proposed,
    ProposalAccepted: _accepted,
    PairActivated: _activated,
    ProposalReminderDue: _reminded,
    ProposalDeclined: _closed,
    ProposalExpired: _closed,
    ProposalWithdrawn: _closed,
    PairEnded: _closed,
}

pairs_projection = Projection("pairs", read_schema=READ_SCHEMA, ddl=DDL, handlers=HANDLERS)
"""Proposals and pairs by id, by round and by participant."""


def _view(row: asyncpg.Record) -> dict[str, Any]:
    view = dict(row)
    view["breakdown"] = json.loads(view["breakdown"])
    return view


async def pair_view(pool: asyncpg.Pool, pair_id: UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT * FROM {READ_SCHEMA}.proposals WHERE pair_id = $1", pair_id)
    return _view(row) if row is not None else None


async def proposals_of_round(
    pool: asyncpg.Pool, round_id: UUID, after: UUID | None, limit: int
) -> list[dict[str, Any]]:
    """A page of the round's proposals in pair id order, after `after`."""
    rows = await pool.fetch(
        f"SELECT * FROM {READ_SCHEMA}.proposals WHERE round_id = $1 AND ($2::uuid IS NULL OR pair_id > $2)"
        " ORDER BY pair_id LIMIT $3",
        round_id,
        after,
        limit,
    )
    return [_view(row) for row in rows]


async def pairs_of_participant(pool: asyncpg.Pool, participant_id: UUID) -> list[dict[str, Any]]:
    """Every proposal and pair the participant was part of, newest first."""
    return await pairs_of_participants(pool, [participant_id])


async def pairs_of_participants(pool: asyncpg.Pool, participant_ids: list[UUID]) -> list[dict[str, Any]]:
    """Every proposal and pair any of `participant_ids` was part of, newest first."""
    rows = await pool.fetch(
        f"SELECT * FROM {READ_SCHEMA}.proposals WHERE junior_id = ANY($1::uuid[]) OR senior_id = ANY($1::uuid[])"
        " ORDER BY proposed_at DESC, pair_id",
        participant_ids,
    )
    return [_view(row) for row in rows]
