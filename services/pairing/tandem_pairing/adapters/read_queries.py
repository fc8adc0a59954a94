"""Reading the read model (`read_model`): rounds, proposals and pairs, as the GET endpoints serve them."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from tandem_kernel.errors import DomainError

from tandem_pairing.adapters.read_model import READ_SCHEMA

__all__ = [
    "flagged_pairs",
    "pair_view",
    "pairs_of_participant",
    "pairs_of_participants",
    "proposals_of_round",
    "round_view",
    "rounds_of_program",
]


def _view(row: asyncpg.Record) -> dict[str, Any]:
    view = dict(row)
    view["breakdown"] = json.loads(view["breakdown"])
    view["violations"] = json.loads(view["violations"]) if view["violations"] is not None else []
    return view


def _round(row: asyncpg.Record) -> dict[str, Any]:
    found = dict(row)
    for column in ("unmatched", "rejected_pins"):
        found[column] = json.loads(found[column]) if found[column] is not None else []
    return found


async def round_view(pool: asyncpg.Pool, round_id: UUID) -> dict[str, Any] | None:
    """The round as far as the read model has applied its events, or None if it has seen none yet."""
    row = await pool.fetchrow(f"SELECT * FROM {READ_SCHEMA}.rounds WHERE round_id = $1", round_id)
    return _round(row) if row is not None else None


def _cursor(started_at: datetime, round_id: UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([started_at.isoformat(), str(round_id)]).encode()).decode()


def _after(cursor: str) -> tuple[datetime, UUID]:
    try:
        started_at, round_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(started_at), UUID(round_id)
    except (ValueError, TypeError, binascii.Error):
        raise DomainError("not a cursor this listing handed out", field="cursor") from None


async def rounds_of_program(
    pool: asyncpg.Pool, program_id: UUID, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the program's rounds, oldest first, and the cursor of the next page (None: the last)."""
    after = _after(cursor) if cursor else None
    rows = await pool.fetch(
        f"SELECT * FROM {READ_SCHEMA}.rounds WHERE program_id = $1"
        " AND ($2::timestamptz IS NULL OR (started_at, round_id) > ($2, $3)) ORDER BY started_at, round_id LIMIT $4",
        program_id,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    page = [_round(row) for row in rows[:limit]]
    more = len(rows) > limit
    return page, _cursor(page[-1]["started_at"], page[-1]["round_id"]) if more else None


async def flagged_pairs(pool: asyncpg.Pool, program_id: UUID) -> list[dict[str, Any]]:
    """The program's active pairs found breaking hard rules, longest flagged first."""
    rows = await pool.fetch(
        f"SELECT * FROM {READ_SCHEMA}.proposals WHERE program_id = $1 AND status = 'active'"
        " AND violations IS NOT NULL ORDER BY infeasible_since, pair_id",
        program_id,
    )
    return [_view(row) for row in rows]


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
