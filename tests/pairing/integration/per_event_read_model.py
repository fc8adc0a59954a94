"""The pairing read model as it was before batching: one SQL statement per event.

Kept as the specification the batched read model (`tandem_pairing.adapters.read_model`) is checked
against: same tables, same rows, from the same history.
"""

from __future__ import annotations

import json
from uuid import UUID

import asyncpg
from tandem_kernel.consumers import EventHandler
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection
from tandem_pairing.adapters.read_model import DDL
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

__all__ = ["per_event_projection"]


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


async def _flagged(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, PairBecameInfeasible)
    await connection.execute(
        "UPDATE proposals SET violations = $2::jsonb, infeasible_since = coalesce(infeasible_since, $3)"
        " WHERE pair_id = $1",
        event.pair_id,
        json.dumps(list(event.violations)),
        event.detected_at,
    )


async def _round_started(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, PairingRoundStarted)
    await connection.execute(
        "INSERT INTO rounds (round_id, program_id, kind, status, started_at) VALUES ($1, $2, $3, 'running', $4)"
        " ON CONFLICT (round_id) DO NOTHING",
        event.round_id,
        event.program_id,
        event.kind.value,
        event.started_at,
    )


async def _round_completed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, PairingRoundCompleted)
    await connection.execute(
        "UPDATE rounds SET status = 'completed', finished_at = $2, pool_size = $3, matched = $4, unmatched_count = $5,"
        " rotated_pairs = $6, total_score = $7, unmatched = $8::jsonb, rejected_pins = $9::jsonb WHERE round_id = $1",
        event.round_id,
        event.completed_at,
        event.pool_size,
        event.matched,
        event.unmatched_count,
        event.rotated_pairs,
        event.total_score,
        json.dumps([u.model_dump(mode="json") for u in event.unmatched]),
        json.dumps([p.model_dump(mode="json") for p in event.rejected_pins]),
    )


async def _round_failed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    event = envelope.payload
    assert isinstance(event, PairingRoundFailed)
    await connection.execute(
        "UPDATE rounds SET status = 'failed', finished_at = $2, failure = $3 WHERE round_id = $1",
        event.round_id,
        event.failed_at,
        event.reason,
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
    PairBecameInfeasible: _flagged,
    PairingRoundStarted: _round_started,
    PairingRoundCompleted: _round_completed,
    PairingRoundFailed: _round_failed,
}

per_event_projection = Projection("pairs_per_event", read_schema="pairing_read_per_event", ddl=DDL, handlers=HANDLERS)
"""The read model applied one event, one statement at a time."""
