"""The rounds table: each round's status and outcome, changed with the events of its stream.

A partial unique index allows one running round per program; GET /rounds/{id} reads from here, so
a round is visible the moment it is accepted.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from tandem_pairing.adapters.pool import Executor
from tandem_pairing.domain.events import PairingRoundCompleted, PairingRoundFailed, PairingRoundStarted

__all__ = ["RoundAlreadyRunning", "abandoned", "complete", "fail", "find", "insert_running"]


class RoundAlreadyRunning(Exception):
    """The program has a running round already."""


async def insert_running(connection: asyncpg.Connection, started: PairingRoundStarted) -> None:
    """Record a started round; raises `RoundAlreadyRunning` if the program has one running."""
    try:
        await connection.execute(
            "INSERT INTO rounds (round_id, program_id, kind, status, started_at) VALUES ($1, $2, $3, 'running', $4)",
            started.round_id,
            started.program_id,
            started.kind.value,
            started.started_at,
        )
    except asyncpg.UniqueViolationError as error:
        if error.constraint_name != "rounds_one_running_per_program":
            raise
        raise RoundAlreadyRunning(str(started.program_id)) from None


async def complete(executor: Executor, completed: PairingRoundCompleted) -> None:
    await executor.execute(
        "UPDATE rounds SET status = 'completed', finished_at = $2, pool_size = $3, matched = $4, unmatched_count = $5,"
        " rotated_pairs = $6, total_score = $7, unmatched = $8::jsonb, rejected_pins = $9::jsonb WHERE round_id = $1",
        completed.round_id,
        completed.completed_at,
        completed.pool_size,
        completed.matched,
        completed.unmatched_count,
        completed.rotated_pairs,
        completed.total_score,
        json.dumps([u.model_dump(mode="json") for u in completed.unmatched]),
        json.dumps([p.model_dump(mode="json") for p in completed.rejected_pins]),
    )


async def fail(executor: Executor, failed: PairingRoundFailed) -> None:
    await executor.execute(
        "UPDATE rounds SET status = 'failed', finished_at = $2, failure = $3 WHERE round_id = $1",
        failed.round_id,
        failed.failed_at,
        failed.reason,
    )


async def find(executor: Executor, round_id: UUID) -> dict[str, Any] | None:
    """The round's row, JSON columns decoded; None if there is no such round."""
    row = await executor.fetchrow("SELECT * FROM rounds WHERE round_id = $1", round_id)
    if row is None:
        return None
    found = dict(row)
    for column in ("unmatched", "rejected_pins"):
        found[column] = json.loads(found[column]) if found[column] is not None else []
    return found


async def abandoned(executor: Executor, started_before: datetime) -> list[UUID]:
    """Rounds still running that started before `started_before`: their process is gone."""
    rows = await executor.fetch(
        "SELECT round_id FROM rounds WHERE status = 'running' AND started_at < $1 ORDER BY started_at", started_before
    )
    return [row["round_id"] for row in rows]
