"""Each participant's calendar feed lives at a secret URL: a random token, stored only as its hash.

Issuing a new token revokes the previous one (the old URL answers 404 from then on).

    token = await feeds.issue(pool, participant_id, now=now)     # /calendars/{token}.ics
    participant_id = await feeds.owner(pool, token)
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from uuid import UUID

import asyncpg

__all__ = ["issue", "owner", "revoke"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(pool: asyncpg.Pool, participant_id: UUID, *, now: datetime) -> str:
    """A new secret token for the participant's feed; any earlier one stops working."""
    token = secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO calendar_feeds (participant_id, token_hash, created_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (participant_id) DO UPDATE SET token_hash = excluded.token_hash,"
        " created_at = excluded.created_at",
        participant_id,
        _hash(token),
        now,
    )
    return token


async def revoke(pool: asyncpg.Pool, participant_id: UUID) -> bool:
    deleted = await pool.fetchval("DELETE FROM calendar_feeds WHERE participant_id = $1 RETURNING true", participant_id)
    return bool(deleted)


async def owner(pool: asyncpg.Pool, token: str) -> UUID | None:
    """Whose feed `token` opens, if it is current."""
    found: UUID | None = await pool.fetchval(
        "SELECT participant_id FROM calendar_feeds WHERE token_hash = $1", _hash(token)
    )
    return found
