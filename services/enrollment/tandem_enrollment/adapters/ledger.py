"""The places ledger: how many people each capacity-limited program has approved, kept exactly, and
which of the people waiting HR approved (vetted) while the program was full.

Every append that approves someone or frees a place runs in one transaction with `take` and `add`,
and `take` locks the program's row first. Two such appends in one program therefore run one after
the other, each seeing the other's count: capacity is a hard limit. Programs without a capacity are
not in the ledger and never wait (capacity cannot change after creation).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from tandem_enrollment.domain import WaitingParticipant

__all__ = ["add", "peek", "take", "vetted_waiting", "vetting_changed"]


async def take(connection: asyncpg.Connection, program_id: UUID) -> int:
    """Lock `program_id`'s places until the transaction ends and return how many are approved."""
    # An upsert that changes nothing still locks the row, and creates it on the program's first use.
    approved: int = await connection.fetchval(
        "INSERT INTO program_places (program_id, approved) VALUES ($1, 0)"
        " ON CONFLICT (program_id) DO UPDATE SET approved = program_places.approved RETURNING approved",
        program_id,
    )
    return approved


async def peek(connection: asyncpg.Connection, program_id: UUID) -> int | None:
    """How many `program_id` has approved, without locking (None before its first place is taken):
    by the time the transaction commits, the count may have moved (see `places.HEADROOM`)."""
    approved: int | None = await connection.fetchval(
        "SELECT approved FROM program_places WHERE program_id = $1", program_id
    )
    return approved


async def add(connection: asyncpg.Connection, program_id: UUID, delta: int) -> int | None:
    """Record `delta` more (or fewer) approved people, in the command's transaction (after `take`,
    or at its very end without it); returns the count with them — None if the program has no places
    row this transaction can see (only without `take`: its first `take` has not committed yet)."""
    approved: int | None = await connection.fetchval(
        "UPDATE program_places SET approved = approved + $2 WHERE program_id = $1 RETURNING approved",
        program_id,
        delta,
    )
    return approved


async def vetting_changed(
    connection: asyncpg.Connection, program_id: UUID, *, vetted: Sequence[WaitingParticipant], done: Sequence[UUID]
) -> None:
    """Record who waits vetted (in their transaction), and who no longer waits (`done`: approved or gone)."""
    if vetted:
        await connection.execute(
            "INSERT INTO vetted_waiting (participant_id, program_id, enrolled_at)"
            " SELECT participant_id, $1, enrolled_at FROM unnest($2::uuid[], $3::timestamptz[])"
            " AS vetted (participant_id, enrolled_at) ON CONFLICT (participant_id) DO NOTHING",
            program_id,
            [waiting.participant_id for waiting in vetted],
            [waiting.enrolled_at for waiting in vetted],
        )
    if done:
        await connection.execute("DELETE FROM vetted_waiting WHERE participant_id = ANY($1::uuid[])", list(done))


async def vetted_waiting(executor: asyncpg.Pool | asyncpg.Connection, program_id: UUID) -> list[WaitingParticipant]:
    """`program_id`'s vetted waiting participants, exactly (see `vetting_changed`)."""
    rows = await executor.fetch(
        "SELECT participant_id, enrolled_at FROM vetted_waiting WHERE program_id = $1", program_id
    )
    return [WaitingParticipant(row["participant_id"], row["enrolled_at"], vetted=True) for row in rows]
