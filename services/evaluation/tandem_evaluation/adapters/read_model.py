"""The read model: each participant's evaluation and each pair's fit as their streams fold, one JSON
document each, written in the append's transaction (the streams' `follow`), so a view never lags
behind the answer that changed it.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import asyncpg

from tandem_evaluation.adapters.facts import Executor
from tandem_evaluation.domain.evaluation import Evaluation
from tandem_evaluation.domain.pair_fit import PairFit

__all__ = [
    "evaluations_of_program",
    "last_published",
    "load_evaluation",
    "load_pair_fit",
    "record_published",
    "save_evaluation",
    "save_pair_fit",
]


async def save_evaluation(connection: asyncpg.Connection, evaluation: Evaluation) -> None:
    await connection.execute(
        "INSERT INTO evaluations (participant_id, program_id, state) VALUES ($1, $2, $3::jsonb)"
        " ON CONFLICT (participant_id) DO UPDATE SET state = excluded.state",
        evaluation.participant_id,
        evaluation.program_id,
        evaluation.model_dump_json(),
    )


async def save_pair_fit(connection: asyncpg.Connection, fit: PairFit) -> None:
    await connection.execute(
        "INSERT INTO pair_fits (pair_id, program_id, state) VALUES ($1, $2, $3::jsonb)"
        " ON CONFLICT (pair_id) DO UPDATE SET state = excluded.state",
        fit.pair_id,
        fit.program_id,
        fit.model_dump_json(),
    )


async def load_evaluation(executor: Executor, participant_id: UUID) -> Evaluation | None:
    state = await executor.fetchval("SELECT state::text FROM evaluations WHERE participant_id = $1", participant_id)
    return None if state is None else Evaluation.model_validate_json(state)


async def evaluations_of_program(executor: Executor, program_id: UUID) -> dict[UUID, Evaluation]:
    rows = await executor.fetch(
        "SELECT participant_id, state::text AS state FROM evaluations WHERE program_id = $1", program_id
    )
    return {row["participant_id"]: Evaluation.model_validate_json(row["state"]) for row in rows}


async def load_pair_fit(executor: Executor, pair_id: UUID) -> PairFit | None:
    state = await executor.fetchval("SELECT state::text FROM pair_fits WHERE pair_id = $1", pair_id)
    return None if state is None else PairFit.model_validate_json(state)


async def last_published(executor: Executor, program_id: UUID) -> dict[str, Any] | None:
    figures = await executor.fetchval("SELECT figures::text FROM published_impact WHERE program_id = $1", program_id)
    return None if figures is None else dict(json.loads(figures))


async def record_published(connection: asyncpg.Connection, program_id: UUID, figures: dict[str, Any]) -> None:
    await connection.execute(
        "INSERT INTO published_impact (program_id, figures) VALUES ($1, $2::jsonb)"
        " ON CONFLICT (program_id) DO UPDATE SET figures = excluded.figures",
        program_id,
        json.dumps(figures),
    )
