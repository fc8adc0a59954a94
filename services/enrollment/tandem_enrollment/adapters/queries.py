"""Reading the read model: programs and participants, filtered and paged by cursor.

Listings page by keyset (the last row's sort key, carried in an opaque cursor), so a page costs the
same at row 20,000 as at row 0 and rows enrolled meanwhile are neither skipped nor repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from tandem_kernel.database import reading
from tandem_kernel.errors import DomainError

from tandem_enrollment.adapters.read_model import READ_SCHEMA
from tandem_enrollment.domain import ParticipantStatus, Role

__all__ = [
    "Page",
    "ParticipantFilters",
    "WaitlistEntry",
    "enrolled_employees",
    "enrollments_of_employee",
    "participant",
    "participants",
    "person",
    "program",
    "program_exists",
    "program_ids",
    "programs",
    "waitlist",
]

# The jsonb columns are selected as they are, not cast `::text`: asyncpg hands jsonb over as text
# anyway, and a cast in the select list is computed below a sort, for every row sorted, where the
# output conversion runs only for the rows sent. Planned without statistics (a read model not yet
# analyzed, as on a PostgreSQL without autovacuum), a page is a top-N sort of the whole program;
# with `profile::text` each row of it cost 14 µs more: 23 ms of PostgreSQL CPU a page at 3,000
# participants instead of 3.5 (BENCHMARKS.md, Load).
_PROGRAM_COLUMNS = "program_id, status, terms, created_at, updated_at, version"
_PARTICIPANT_COLUMNS = """participant_id, program_id, employee_id, role, status, department, site, display_name,
    email, personal_goals, profile, withdrawal_reason, erased, vetted, enrolled_at, updated_at, version"""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing; `next_cursor` fetches the next one (`None`: this was the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class WaitlistEntry:
    """Someone waiting for a place, as of the read model's `version` of their stream."""

    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role
    enrolled_at: datetime
    vetted: bool
    version: int


@dataclass(frozen=True, slots=True)
class ParticipantFilters:
    """Narrow a program's participants; `None` means any. Department and site ignore case."""

    role: Role | None = None
    status: ParticipantStatus | None = None
    department: str | None = None
    site: str | None = None


def _encode_cursor(sort_key: datetime, row_id: UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort_key.isoformat(), str(row_id)]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        sort_key, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(sort_key), UUID(row_id)
    except (ValueError, TypeError, binascii.Error):
        raise DomainError("not a cursor this listing handed out", field="cursor") from None


def _page(rows: Sequence[asyncpg.Record], limit: int, sort_key: str, row_id: str, shape: Any) -> Page:
    # One row more than asked says whether a next page exists.
    items = [shape(row) for row in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return Page(items, _encode_cursor(last[sort_key], last[row_id]) if last is not None else None)


# -- programs ----------------------------------------------------------------------------------


def _program(row: asyncpg.Record, counts: dict[str, int]) -> dict[str, Any]:
    return {
        **json.loads(row["terms"]),
        "program_id": row["program_id"],
        "status": row["status"],
        "participants": counts,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


async def _counts(pool: asyncpg.Pool, program_ids: list[UUID]) -> dict[UUID, dict[str, int]]:
    rows = await pool.fetch(
        f"SELECT program_id, role, status, count(*) AS n FROM {READ_SCHEMA}.participants"
        " WHERE program_id = ANY($1) GROUP BY program_id, role, status",
        program_ids,
    )
    counts: dict[UUID, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys([*(s.value for s in ParticipantStatus), "juniors", "seniors"], 0)
    )
    for row in rows:
        tally = counts[row["program_id"]]
        tally[row["status"]] += row["n"]
        if row["status"] != ParticipantStatus.WITHDRAWN:
            tally[f"{row['role']}s"] += row["n"]
    return {program_id: counts[program_id] for program_id in program_ids}


async def program(pool: asyncpg.Pool, program_id: UUID) -> dict[str, Any] | None:
    """A program with its terms, status and participant counts, or `None`."""
    row = await pool.fetchrow(
        f"SELECT {_PROGRAM_COLUMNS} FROM {READ_SCHEMA}.programs WHERE program_id = $1", program_id
    )
    if row is None:
        return None
    return _program(row, (await _counts(pool, [program_id]))[program_id])


async def program_exists(pool: asyncpg.Pool, program_id: UUID) -> bool:
    """Whether the read model knows `program_id`."""
    found = await pool.fetchval(f"SELECT true FROM {READ_SCHEMA}.programs WHERE program_id = $1", program_id)
    return bool(found)


async def programs(
    pool: asyncpg.Pool,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
    only: Sequence[str] | None = None,
    drafts: bool = True,
) -> Page:
    """Programs, oldest first, optionally only those in `status`, only the programs `only` names,
    and without drafts unless `drafts`."""
    after = _decode_cursor(cursor) if cursor else None
    rows = await pool.fetch(
        f"SELECT {_PROGRAM_COLUMNS} FROM {READ_SCHEMA}.programs"
        " WHERE ($1::text IS NULL OR status = $1)"
        "   AND ($2::timestamptz IS NULL OR (created_at, program_id) > ($2, $3))"
        "   AND ($5::uuid[] IS NULL OR program_id = ANY($5)) AND ($6 OR status <> 'draft')"
        " ORDER BY created_at, program_id LIMIT $4",
        status,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
        [UUID(program) for program in only] if only is not None else None,
        drafts,
    )
    counts = await _counts(pool, [row["program_id"] for row in rows[:limit]])
    return _page(rows, limit, "created_at", "program_id", lambda row: _program(row, counts[row["program_id"]]))


# -- participants ------------------------------------------------------------------------------


def _participant(row: asyncpg.Record) -> dict[str, Any]:
    fields = dict(row)
    return {**json.loads(fields.pop("profile")), **fields}


async def participant(pool: asyncpg.Pool, program_id: UUID, participant_id: UUID) -> dict[str, Any] | None:
    """One enrollment of `program_id`, or `None`."""
    row = await pool.fetchrow(
        f"SELECT {_PARTICIPANT_COLUMNS} FROM {READ_SCHEMA}.participants WHERE participant_id = $1 AND program_id = $2",
        participant_id,
        program_id,
    )
    return _participant(row) if row is not None else None


async def participants(
    pool: asyncpg.Pool, program_id: UUID, filters: ParticipantFilters, *, limit: int, cursor: str | None
) -> Page:
    """A program's participants in enrollment order, filtered."""
    after = _decode_cursor(cursor) if cursor else None
    async with reading(pool) as db:  # optional filters: plans made for the filters given
        rows = await _participants_page(db, program_id, filters, limit, after)
    return _page(rows, limit, "enrolled_at", "participant_id", _participant)


async def _participants_page(
    db: asyncpg.Connection,
    program_id: UUID,
    filters: ParticipantFilters,
    limit: int,
    after: tuple[datetime, UUID] | None,
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await db.fetch(
        f"SELECT {_PARTICIPANT_COLUMNS} FROM {READ_SCHEMA}.participants"
        " WHERE program_id = $1"
        "   AND ($2::text IS NULL OR role = $2) AND ($3::text IS NULL OR status = $3)"
        "   AND ($4::text IS NULL OR lower(department) = lower($4)) AND ($5::text IS NULL OR lower(site) = lower($5))"
        "   AND ($6::timestamptz IS NULL OR (enrolled_at, participant_id) > ($6, $7))"
        " ORDER BY enrolled_at, participant_id LIMIT $8",
        program_id,
        filters.role,
        filters.status,
        filters.department,
        filters.site,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    return rows


async def enrolled_employees(pool: asyncpg.Pool, program_id: UUID, employee_ids: Sequence[str]) -> set[str]:
    """Which of `employee_ids` the read model knows as enrolled in `program_id` (it may lag: a hint)."""
    # A join, not `employee_id = ANY($2)`: with a generic plan that compares every row to every id.
    rows = await pool.fetch(
        f"SELECT p.employee_id FROM unnest($2::text[]) AS wanted (employee_id)"
        f" JOIN {READ_SCHEMA}.participants AS p ON p.program_id = $1 AND p.employee_id = wanted.employee_id",
        program_id,
        list(employee_ids),
    )
    return {row["employee_id"] for row in rows}


async def program_ids(pool: asyncpg.Pool) -> list[UUID]:
    """Every program the read model knows."""
    return [row["program_id"] for row in await pool.fetch(f"SELECT program_id FROM {READ_SCHEMA}.programs")]


async def enrollments_of_employee(pool: asyncpg.Pool, employee_id: str) -> list[UUID]:
    """The enrollments of `employee_id` (canonical) the read model knows, whatever case they were typed in."""
    rows = await pool.fetch(
        f"SELECT participant_id FROM {READ_SCHEMA}.participants WHERE upper(employee_id) = $1", employee_id
    )
    return [row["participant_id"] for row in rows]


async def person(pool: asyncpg.Pool, employee_id: str) -> list[dict[str, Any]]:
    """Everything the read model holds of the employee: each enrollment, with its program's name and status."""
    rows = await pool.fetch(
        f"SELECT {_PARTICIPANT_COLUMNS}, (SELECT terms->>'name' FROM {READ_SCHEMA}.programs AS p"
        "  WHERE p.program_id = participants.program_id) AS program_name"
        f" FROM {READ_SCHEMA}.participants WHERE upper(employee_id) = $1 ORDER BY enrolled_at, participant_id",
        employee_id,
    )
    return [_participant(row) for row in rows]


async def waitlist(executor: asyncpg.Pool | asyncpg.Connection, program_id: UUID) -> list[WaitlistEntry]:
    """Who waits for a place in `program_id`, first come first, as far as the read model knows yet."""
    rows = await executor.fetch(
        "SELECT participant_id, program_id, employee_id, role, enrolled_at, vetted, version"
        f" FROM {READ_SCHEMA}.participants WHERE program_id = $1 AND status = 'waitlisted'"
        " ORDER BY enrolled_at, participant_id",
        program_id,
    )
    return [WaitlistEntry(**{**dict(row), "role": Role(row["role"])}) for row in rows]
