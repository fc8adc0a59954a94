"""Imports in PostgreSQL: created on upload, advanced with every chunk, read by GET /imports.

Besides counts and the report of rows that were not enrolled (the row, the employee id, what was
wrong), an unfinished import keeps its uploaded file, sealed, so that any replica can carry it on;
the file goes when the import ends.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from tandem_enrollment.application.bulk import ChunkReport
from tandem_enrollment.domain import FieldError

__all__ = [
    "create",
    "fail",
    "file",
    "finish",
    "forget_file",
    "get",
    "keep_file",
    "mentions",
    "problems",
    "record",
    "start",
]

# Both the pool and a connection inside a transaction: a job's steps and the HTTP reads share these.
Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool

_JOB_COLUMNS = """job_id, program_id, file_name, file_format, status, total, processed, enrolled, duplicates,
    rejected, error, requested_by, correlation_id, last_position, created_at, updated_at, finished_at"""


async def create(
    executor: Executor,
    *,
    job_id: UUID,
    program_id: UUID,
    file_name: str | None,
    file_format: str,
    requested_by: str | None,
    correlation_id: UUID,
) -> None:
    """Record a new import, queued."""
    await executor.execute(
        "INSERT INTO import_jobs (job_id, program_id, file_name, file_format, status, requested_by, correlation_id)"
        " VALUES ($1, $2, $3, $4, 'queued', $5, $6)",
        job_id,
        program_id,
        file_name,
        file_format,
        requested_by,
        correlation_id,
    )


async def keep_file(executor: Executor, job_id: UUID, sealed: bytes) -> None:
    await executor.execute("INSERT INTO import_files (job_id, content) VALUES ($1, $2)", job_id, sealed)


async def file(executor: Executor, job_id: UUID) -> bytes:
    """The import's sealed file; `LookupError` if it is gone (the import ended)."""
    content: bytes | None = await executor.fetchval("SELECT content FROM import_files WHERE job_id = $1", job_id)
    if content is None:
        raise LookupError(f"the file of import {job_id} is gone")
    return content


async def forget_file(executor: Executor, job_id: UUID) -> None:
    await executor.execute("DELETE FROM import_files WHERE job_id = $1", job_id)


async def start(executor: Executor, job_id: UUID, total: int) -> None:
    """The file is parsed: `total` rows to go (a resumed import keeps its counts)."""
    await executor.execute(
        "UPDATE import_jobs SET status = 'running', total = $2, updated_at = now() WHERE job_id = $1", job_id, total
    )


async def record(executor: Executor, job_id: UUID, chunk: ChunkReport) -> None:
    """Add a chunk's counts and its report rows, in one transaction (the chunk's own, if given one)."""
    if isinstance(executor, asyncpg.Pool):
        async with executor.acquire() as connection, connection.transaction():
            await record(connection, job_id, chunk)
        return
    connection = executor
    await connection.execute(
        "UPDATE import_jobs SET processed = processed + $2, enrolled = enrolled + $3,"
        " duplicates = duplicates + $4, rejected = rejected + $5, updated_at = now(),"
        " last_position = greatest(last_position, $6) WHERE job_id = $1",
        job_id,
        chunk.processed,
        chunk.enrolled,
        chunk.duplicates,
        chunk.rejected,
        chunk.last_position,
    )
    await connection.executemany(
        "INSERT INTO import_job_rows (job_id, row_number, outcome, employee_id, errors)"
        " VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING",
        [
            (job_id, problem.row, problem.outcome.value, problem.employee_id, _errors_json(problem.errors))
            for problem in chunk.problems
        ],
    )


def _errors_json(errors: tuple[FieldError, ...]) -> str:
    return json.dumps([asdict(error) for error in errors])


async def finish(executor: Executor, job_id: UUID) -> None:
    """Every row was handled."""
    await executor.execute(
        "UPDATE import_jobs SET status = 'completed', updated_at = now(), finished_at = now() WHERE job_id = $1",
        job_id,
    )


async def fail(executor: Executor, job_id: UUID, error: str) -> None:
    """The import stopped before the end; rows enrolled so far stay enrolled."""
    await executor.execute(
        "UPDATE import_jobs SET status = 'failed', error = $2, updated_at = now(), finished_at = now()"
        " WHERE job_id = $1 AND finished_at IS NULL",
        job_id,
        error,
    )


async def get(executor: Executor, job_id: UUID) -> dict[str, Any] | None:
    """An import's state and counts, or `None`."""
    row = await executor.fetchrow(f"SELECT {_JOB_COLUMNS} FROM import_jobs WHERE job_id = $1", job_id)
    return dict(row) if row is not None else None


async def problems(pool: asyncpg.Pool, job_id: UUID, *, after_row: int, limit: int) -> list[dict[str, Any]]:
    """The job's report: rows not enrolled, in file order, after row `after_row`."""
    rows = await pool.fetch(
        "SELECT row_number, outcome, employee_id, errors::text AS errors FROM import_job_rows"
        " WHERE job_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3",
        job_id,
        after_row,
        limit,
    )
    return [{**dict(row), "row": row["row_number"], "errors": json.loads(row["errors"])} for row in rows]


async def mentions(pool: asyncpg.Pool, employee_id: str) -> list[dict[str, Any]]:
    """The import report rows that name `employee_id` (canonical), whatever case the file used."""
    rows = await pool.fetch(
        "SELECT r.job_id, j.program_id, r.row_number AS row, r.outcome, r.errors::text AS errors, j.created_at"
        " FROM import_job_rows AS r JOIN import_jobs AS j USING (job_id)"
        " WHERE upper(r.employee_id) = $1 ORDER BY j.created_at, r.row_number",
        employee_id,
    )
    return [{**dict(row), "errors": json.loads(row["errors"])} for row in rows]
