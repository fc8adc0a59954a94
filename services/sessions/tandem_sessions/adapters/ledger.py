"""The sessions ledger: every session as its pair's schedule stream left it.

`save` runs in the transaction that appends to the schedule (the stream kind's `follow`), so the
ledger is never behind the store: planning reads who is booked when from here (no double booking
across a person's pairs), the API and the calendar feeds read sessions from here, and the
scheduler scans it for reminders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from tandem_sessions.adapters.directory import Executor
from tandem_sessions.domain.calendar import Interval
from tandem_sessions.domain.schedule import PairSchedule

__all__ = [
    "busy_of",
    "busy_of_each",
    "pair_of_session",
    "pairs_of_program",
    "quiet_pairs",
    "reminders_due",
    "save",
    "save_all",
    "session_row",
    "sessions_of_pair",
    "sessions_of_person",
]

_COLUMNS = (
    "session_id, pair_id, program_id, junior_id, senior_id, starts_at, ends_at, duration_minutes, status, sequence,"
    " extra, proposed_by, proposed_starts_at, reminded, agenda_items, cancelled_by, cancel_reason, late,"
    " held_minutes, absent"
)


async def save(connection: asyncpg.Connection, schedule: PairSchedule) -> None:
    """Insert or update the rows of the schedule's sessions, and the pair's flags (the stream's follow)."""
    await save_all(connection, [schedule])


async def save_all(connection: asyncpg.Connection, schedules: Sequence[PairSchedule]) -> None:
    """Insert or update the rows of the schedules' sessions, and their pairs' flags, in one statement."""
    rows = [(schedule.pair, session) for schedule in schedules for session in schedule.sessions.values()]
    await connection.execute(
        f"""
        WITH flags AS (
            UPDATE pairs SET attention = f.attention, at_risk = f.at_risk::text[]
            FROM unnest($21::uuid[], $22::text[], $23::text[]) AS f(pair_id, attention, at_risk)
            WHERE pairs.pair_id = f.pair_id
        )
        INSERT INTO sessions ({_COLUMNS})
        SELECT s.session_id, s.pair_id, s.program_id, s.junior_id, s.senior_id, s.starts_at, s.ends_at,
               s.duration_minutes, s.status, s.sequence, s.extra, s.proposed_by, s.proposed_starts_at, s.reminded,
               s.agenda_items, s.cancelled_by, s.cancel_reason, s.late, s.held_minutes,
               s.absent::uuid[]
        FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::timestamptz[],
                    $7::timestamptz[], $8::int[], $9::text[], $10::int[], $11::boolean[], $12::uuid[],
                    $13::timestamptz[], $14::boolean[], $15::int[], $16::uuid[], $17::text[], $18::boolean[],
                    $19::int[], $20::text[])
             AS s(session_id, pair_id, program_id, junior_id, senior_id, starts_at, ends_at, duration_minutes,
                  status, sequence, extra, proposed_by, proposed_starts_at, reminded, agenda_items, cancelled_by,
                  cancel_reason, late, held_minutes, absent)
        ON CONFLICT (session_id) DO UPDATE SET
            starts_at = excluded.starts_at, ends_at = excluded.ends_at, status = excluded.status,
            sequence = excluded.sequence, proposed_by = excluded.proposed_by,
            proposed_starts_at = excluded.proposed_starts_at, reminded = excluded.reminded,
            agenda_items = excluded.agenda_items, cancelled_by = excluded.cancelled_by,
            cancel_reason = excluded.cancel_reason, late = excluded.late, held_minutes = excluded.held_minutes,
            absent = excluded.absent
        """,
        [s.session_id for _, s in rows],
        [pair.pair_id for pair, _ in rows],
        [pair.program_id for pair, _ in rows],
        [pair.junior_id for pair, _ in rows],
        [pair.senior_id for pair, _ in rows],
        [s.starts_at for _, s in rows],
        [s.ends_at for _, s in rows],
        [s.duration_minutes for _, s in rows],
        [s.status.value for _, s in rows],
        [s.sequence for _, s in rows],
        [s.extra for _, s in rows],
        [s.proposal.by if s.proposal else None for _, s in rows],
        [s.proposal.starts_at if s.proposal else None for _, s in rows],
        [s.reminded for _, s in rows],
        [s.agenda_items for _, s in rows],
        [s.cancelled_by for _, s in rows],
        [s.cancel_reason.value if s.cancel_reason else None for _, s in rows],
        [s.late for _, s in rows],
        [s.held_minutes for _, s in rows],
        [_absent(s.absent) for _, s in rows],
        [schedule.pair.pair_id for schedule in schedules],
        [schedule.attention.value if schedule.attention else None for schedule in schedules],
        ["{" + ",".join(sorted(reason.value for reason in schedule.flagged)) + "}" for schedule in schedules],
    )


def _absent(absent: Sequence[UUID]) -> str:
    """A uuid[] literal (arrays of arrays of unequal lengths cannot be parameters)."""
    return "{" + ",".join(str(person) for person in absent) + "}"


async def busy_of(executor: Executor, people: Sequence[UUID], span: Interval) -> list[Interval]:
    """When `people` are booked in `span`: their scheduled sessions, in any of their pairs."""
    rows = await executor.fetch(
        "SELECT starts_at, ends_at FROM sessions WHERE status = 'scheduled' AND (junior_id = ANY($1::uuid[])"
        " OR senior_id = ANY($1::uuid[])) AND starts_at < $3 AND ends_at > $2 ORDER BY starts_at",
        list(people),
        span.start,
        span.end,
    )
    return [Interval(row["starts_at"], row["ends_at"]) for row in rows]


async def busy_of_each(executor: Executor, people: Sequence[UUID], span: Interval) -> Mapping[UUID, list[Interval]]:
    """`busy_of` for many people at once: each one's scheduled sessions in `span`, in order."""
    rows = await executor.fetch(
        "SELECT junior_id, senior_id, starts_at, ends_at FROM sessions WHERE status = 'scheduled'"
        " AND (junior_id = ANY($1::uuid[]) OR senior_id = ANY($1::uuid[])) AND starts_at < $3 AND ends_at > $2"
        " ORDER BY starts_at",
        list(people),
        span.start,
        span.end,
    )
    found: dict[UUID, list[Interval]] = {person: [] for person in people}
    for row in rows:
        booked = Interval(row["starts_at"], row["ends_at"])
        for person in {row["junior_id"], row["senior_id"]}:
            if person in found:
                found[person].append(booked)
    return found


async def pairs_of_program(executor: Executor, program_id: UUID, now: datetime) -> list[dict[str, Any]]:
    """The program's pairs with their flags and what their sessions came to, in pair id order."""
    rows = await executor.fetch(
        """
        SELECT p.pair_id, p.junior_id, p.senior_id, p.status, p.attention AS needs_attention, p.at_risk,
               count(*) FILTER (WHERE s.status = 'scheduled') AS scheduled,
               count(*) FILTER (WHERE s.status = 'held') AS held,
               count(*) FILTER (WHERE s.status = 'missed') AS missed,
               count(*) FILTER (WHERE s.status = 'cancelled') AS cancelled,
               min(s.starts_at) FILTER (WHERE s.status = 'scheduled' AND s.starts_at > $2) AS next_session_at
        FROM pairs p LEFT JOIN sessions s ON s.pair_id = p.pair_id
        WHERE p.program_id = $1
        GROUP BY p.pair_id ORDER BY p.pair_id
        """,
        program_id,
        now,
    )
    return [dict(row) for row in rows]


async def quiet_pairs(executor: Executor, now: datetime, after: UUID | None, limit: int) -> list[dict[str, Any]]:
    """Active pairs not yet flagged that held no session in their program's last two cadence periods
    (counted from activation when none was ever held), in pair id order after `after`."""
    rows = await executor.fetch(
        """
        SELECT p.pair_id, p.activated_at, g.cadence_days
        FROM pairs p JOIN programs g ON g.program_id = p.program_id
        WHERE p.status = 'active' AND NOT ('no_held_session' = ANY (p.at_risk)) AND g.cadence_days > 0
          AND ($2::uuid IS NULL OR p.pair_id > $2)
          AND GREATEST(p.activated_at, COALESCE(
                (SELECT max(s.starts_at) FROM sessions s WHERE s.pair_id = p.pair_id AND s.status = 'held'),
                p.activated_at))
              <= $1::timestamptz - make_interval(days => 2 * g.cadence_days)
        ORDER BY p.pair_id LIMIT $3
        """,
        now,
        after,
        limit,
    )
    return [dict(row) for row in rows]


async def pair_of_session(executor: Executor, session_id: UUID) -> UUID | None:
    found: UUID | None = await executor.fetchval("SELECT pair_id FROM sessions WHERE session_id = $1", session_id)
    return found


async def session_row(executor: Executor, session_id: UUID) -> dict[str, Any] | None:
    row = await executor.fetchrow(f"SELECT {_COLUMNS} FROM sessions WHERE session_id = $1", session_id)
    return None if row is None else dict(row)


async def sessions_of_pair(executor: Executor, pair_id: UUID) -> list[dict[str, Any]]:
    rows = await executor.fetch(
        f"SELECT {_COLUMNS} FROM sessions WHERE pair_id = $1 ORDER BY starts_at, session_id", pair_id
    )
    return [dict(row) for row in rows]


async def sessions_of_person(
    executor: Executor, participant_id: UUID, *, since: datetime | None = None, scheduled_only: bool = False
) -> list[dict[str, Any]]:
    """A participant's sessions in all their pairs (from `since`, only scheduled ones if asked), in order."""
    rows = await executor.fetch(
        f"SELECT {_COLUMNS} FROM sessions WHERE (junior_id = $1 OR senior_id = $1)"
        " AND ($2::timestamptz IS NULL OR starts_at >= $2) AND (NOT $3 OR status = 'scheduled')"
        " ORDER BY starts_at, session_id",
        participant_id,
        since,
        scheduled_only,
    )
    return [dict(row) for row in rows]


async def reminders_due(executor: Executor, now: datetime, until: datetime, limit: int) -> list[tuple[UUID, UUID]]:
    """(pair, session) of scheduled sessions starting in [now, until) not reminded yet."""
    rows = await executor.fetch(
        "SELECT pair_id, session_id FROM sessions WHERE status = 'scheduled' AND NOT reminded"
        " AND starts_at >= $1 AND starts_at < $2 ORDER BY starts_at LIMIT $3",
        now,
        until,
        limit,
    )
    return [(row["pair_id"], row["session_id"]) for row in rows]
