"""The pairs ledger: every pair ever proposed, its status and due dates, kept in step with its stream.

`save` runs in the transaction that appends the pair's events, so the ledger is never behind the
store: a round reads who is already paired and who were partners from here, a participant leaving
finds their open pairs here, and the scheduler scans it for reminders, expiries and rotations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from tandem_pairing.adapters.pool import Executor
from tandem_pairing.domain.pair import Pair, PairStatus

__all__ = [
    "expiries_due",
    "open_load",
    "open_pairs_in_program",
    "open_pairs_of",
    "pairs_between",
    "partners",
    "programs_with_rotations_due",
    "reminders_due",
    "rotations_due",
    "save",
    "were_partners",
]

_OPEN = [PairStatus.PROPOSED.value, PairStatus.ACTIVE.value]


async def save(executor: Executor, pairs: Sequence[Pair]) -> None:
    """Insert or update the ledger rows of `pairs` (as their streams now stand), in one statement."""
    if not pairs:
        return
    await executor.execute(
        """
        INSERT INTO pairs (pair_id, program_id, round_id, junior_id, senior_id, status, reminded, remind_at,
                           expires_at, rotation_due_at)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::boolean[],
                             $8::timestamptz[], $9::timestamptz[], $10::timestamptz[])
        ON CONFLICT (pair_id) DO UPDATE SET status = excluded.status, reminded = excluded.reminded,
                                            rotation_due_at = excluded.rotation_due_at
        """,
        [p.pair_id for p in pairs],
        [p.program_id for p in pairs],
        [p.round_id for p in pairs],
        [p.junior_id for p in pairs],
        [p.senior_id for p in pairs],
        [p.status.value for p in pairs],
        [p.reminded for p in pairs],
        [p.remind_at for p in pairs],
        [p.expires_at for p in pairs],
        [p.rotation_due_at for p in pairs],
    )


async def open_pairs_of(executor: Executor, participant_id: UUID) -> list[UUID]:
    """The pending proposals and active pairs `participant_id` is part of."""
    rows = await executor.fetch(
        "SELECT pair_id FROM pairs WHERE (junior_id = $1 OR senior_id = $1) AND status = ANY($2::text[])"
        " ORDER BY pair_id",
        participant_id,
        _OPEN,
    )
    return [row["pair_id"] for row in rows]


async def open_pairs_in_program(executor: Executor, program_id: UUID) -> list[UUID]:
    rows = await executor.fetch(
        "SELECT pair_id FROM pairs WHERE program_id = $1 AND status = ANY($2::text[]) ORDER BY pair_id",
        program_id,
        _OPEN,
    )
    return [row["pair_id"] for row in rows]


async def open_load(executor: Executor, program_id: UUID) -> Counter[UUID]:
    """How many open pairs each participant of the program is in (absent: none)."""
    rows = await executor.fetch(
        "SELECT junior_id, senior_id FROM pairs WHERE program_id = $1 AND status = ANY($2::text[])", program_id, _OPEN
    )
    return Counter([row["junior_id"] for row in rows] + [row["senior_id"] for row in rows])


async def partners(executor: Executor, program_id: UUID) -> set[tuple[UUID, UUID]]:
    """Every (junior, senior) ever proposed to each other in the program, whatever became of it."""
    rows = await executor.fetch("SELECT DISTINCT junior_id, senior_id FROM pairs WHERE program_id = $1", program_id)
    return {(row["junior_id"], row["senior_id"]) for row in rows}


async def pairs_between(executor: Executor, program_id: UUID, junior_id: UUID, senior_id: UUID) -> list[UUID]:
    """Every pair (proposal) the two ever had in the program."""
    rows = await executor.fetch(
        "SELECT pair_id FROM pairs WHERE program_id = $1 AND junior_id = $2 AND senior_id = $3",
        program_id,
        junior_id,
        senior_id,
    )
    return [row["pair_id"] for row in rows]


async def were_partners(executor: Executor, program_id: UUID, junior_id: UUID, senior_id: UUID) -> bool:
    found = await executor.fetchval(
        "SELECT true FROM pairs WHERE program_id = $1 AND junior_id = $2 AND senior_id = $3 LIMIT 1",
        program_id,
        junior_id,
        senior_id,
    )
    return bool(found)


async def rotations_due(executor: Executor, program_id: UUID, due_by: datetime | None) -> list[UUID]:
    """The program's active pairs whose rotation is due by `due_by` (every active pair when None)."""
    rows = await executor.fetch(
        "SELECT pair_id FROM pairs WHERE program_id = $1 AND status = 'active'"
        " AND ($2::timestamptz IS NULL OR rotation_due_at <= $2) ORDER BY pair_id",
        program_id,
        due_by,
    )
    return [row["pair_id"] for row in rows]


async def reminders_due(executor: Executor, now: datetime, limit: int) -> list[UUID]:
    rows = await executor.fetch(
        "SELECT pair_id FROM pairs WHERE status = 'proposed' AND NOT reminded AND remind_at <= $1 AND expires_at > $1"
        " ORDER BY remind_at LIMIT $2",
        now,
        limit,
    )
    return [row["pair_id"] for row in rows]


async def expiries_due(executor: Executor, now: datetime, limit: int) -> list[UUID]:
    rows = await executor.fetch(
        "SELECT pair_id FROM pairs WHERE status = 'proposed' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        now,
        limit,
    )
    return [row["pair_id"] for row in rows]


async def programs_with_rotations_due(executor: Executor, now: datetime) -> list[UUID]:
    rows = await executor.fetch(
        "SELECT DISTINCT program_id FROM pairs WHERE status = 'active' AND rotation_due_at <= $1 ORDER BY program_id",
        now,
    )
    return [row["program_id"] for row in rows]
