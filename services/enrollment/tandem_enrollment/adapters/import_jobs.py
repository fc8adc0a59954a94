"""Import jobs in PostgreSQL: created on upload, advanced after every chunk, read by GET /imports.

The uploaded file itself is never stored (it holds personal data); only counts and the report of
rows that were not enrolled, which name the row, the employee id and what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any
from uuid import UUID

import asyncpg

from tandem_enrollment.application.bulk import ChunkReport
from tandem_enrollment.domain import FieldError

__all__ = ["create", "fail", "fail_abandoned", "finish", "get", "mentions", "problems", "record", "start"]

_JOB_COLUMNS = """job_id, program_id, file_name, file_format, status, total, processed, enrolled, duplicates,
    rejected, error, requested_by, created_at, updated_at, finished_at"""


async def create(
    pool: asyncpg.Pool,
    *,
    job_id: UUID,
    program_id: UUID,
    file_name: str | None,
    file_format: str,
    requested_by: str | None,
) -> None:
    """Record a new job, queued."""
    await pool.execute(
        "INSERT INTO import_jobs (job_id, program_id, file_name, file_format, status, requested_by)"
        " VALUES ($1, $2, $3, $4, 'queued', $5)",
        job_id,
        program_id,
        file_name,
        file_format,
        requested_by,
    )


async def start(pool: asyncpg.Pool, job_id: UUID, total: int) -> None:
    """The file is parsed: `total` rows to go."""
    await pool.execute(
        "UPDATE import_jobs SET status = 'running', total = $2, updated_at = now() WHERE job_id = $1", job_id, total
    )


async def record(pool: asyncpg.Pool, job_id: UUID, chunk: ChunkReport) -> None:
    """Add a chunk's counts and its report rows, in one transaction."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "UPDATE import_jobs SET processed = processed + $2, enrolled = enrolled + $3,"
            " duplicates = duplicates + $4, rejected = rejected + $5, updated_at = now() WHERE job_id = $1",
            job_id,
            chunk.processed,
            chunk.enrolled,
            chunk.duplicates,
            chunk.rejected,
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


async def finish(pool: asyncpg.Pool, job_id: UUID) -> None:
    """Every row was handled."""
    await pool.execute(
        "UPDATE import_jobs SET status = 'completed', updated_at = now(), finished_at = now() WHERE job_id = $1",
        job_id,
    )


async def fail(pool: asyncpg.Pool, job_id: UUID, error: str) -> None:
    """The job stopped before the end; rows enrolled so far stay enrolled."""
    await pool.execute(
        "UPDATE import_jobs SET status = 'failed', error = $2, updated_at = now(), finished_at = now()"
        " WHERE job_id = $1 AND finished_at IS NULL",
        job_id,
        error,
    )


async def fail_abandoned(pool: asyncpg.Pool, *, silent_seconds: float, error: str) -> int:
    """Fail unfinished jobs nobody has advanced for `silent_seconds` (their process died)."""
    result: str = await pool.execute(
        "UPDATE import_jobs SET status = 'failed', error = $2, updated_at = now(), finished_at = now()"
        " WHERE finished_at IS NULL AND updated_at < now() - make_interval(secs => $1)",
        silent_seconds,
        error,
    )
    return int(result.rsplit(" ", 1)[-1])


async def get(pool: asyncpg.Pool, job_id: UUID) -> dict[str, Any] | None:
    """A job's state and counts, or `None`."""
    row = await pool.fetchrow(f"SELECT {_JOB_COLUMNS} FROM import_jobs WHERE job_id = $1", job_id)
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
