"""The places ledger: how many people each capacity-limited program has approved, kept exactly.

Every append that approves someone or frees a place runs in one transaction with `take` and `add`,
and `take` locks the program's row first. Two such appends in one program therefore run one after
the other, each seeing the other's count: capacity is a hard limit. Programs without a capacity are
not in the ledger and never wait (capacity cannot change after creation).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

__all__ = ["add", "take"]


async def take(connection: asyncpg.Connection, program_id: UUID) -> int:
    """Lock `program_id`'s places until the transaction ends and return how many are approved."""
    # An upsert that changes nothing still locks the row, and creates it on the program's first use.
    approved: int = await connection.fetchval(
        "INSERT INTO program_places (program_id, approved) VALUES ($1, 0)"
        " ON CONFLICT (program_id) DO UPDATE SET approved = program_places.approved RETURNING approved",
        program_id,
    )
    return approved


async def add(connection: asyncpg.Connection, program_id: UUID, delta: int) -> None:
    """Record `delta` more (or fewer) approved people; call after `take`, in its transaction."""
    if delta:
        await connection.execute(
            "UPDATE program_places SET approved = approved + $2 WHERE program_id = $1", program_id, delta
        )
