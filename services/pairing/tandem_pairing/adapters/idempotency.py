"""Earlier appends made under an Idempotency-Key (the kernel's `append_idempotency` table)."""

from __future__ import annotations

import asyncpg
from tandem_kernel.store import AppendResult

__all__ = ["recorded_append"]


async def recorded_append(pool: asyncpg.Pool, idempotency_key: str) -> AppendResult | None:
    """What the committed append made under `idempotency_key` returned, if there was one.

    Commands look here before deciding: a retried request gets the first answer even where deciding
    again would refuse (a proposal declined twice).
    """
    stored = await pool.fetchval(
        "SELECT result::text FROM append_idempotency WHERE idempotency_key = $1 AND result <> '{}'::jsonb",
        idempotency_key,
    )
    return AppendResult.from_json(stored) if stored is not None else None
