"""Programs, participants, pairs and sessions as other services announced them, in evaluation's own
tables: written by the subscriptions (`application.policies`), read by commands, the scheduler and
the HTTP views.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeAlias
from uuid import UUID

import asyncpg

from tandem_evaluation.domain.events import Role
from tandem_evaluation.domain.facts import HeldSession, PairFacts, ParticipantFacts, ProgramFacts

__all__ = [
    "Executor",
    "close_program",
    "held_sessions_of_pair",
    "load_pair",
    "load_participant",
    "load_program",
    "load_session",
    "open_programs",
    "pairs_of",
    "participants_of_program",
    "record_pair_activated",
    "record_pair_ended",
    "record_participant",
    "record_program",
    "record_session",
    "session_counts",
    "set_objectives",
    "set_status",
    "set_unmatched",
    "update_wants",
]

Executor: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def record_program(
    executor: Executor, program_id: UUID, start_date: date, end_date: date, objectives: list[str]
) -> None:
    await executor.execute(
        "INSERT INTO programs (program_id, start_date, end_date, objectives) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (program_id) DO UPDATE SET start_date = $2, end_date = $3, objectives = $4",
        program_id,
        start_date,
        end_date,
        objectives,
    )


async def set_objectives(executor: Executor, program_id: UUID, objectives: list[str]) -> None:
    await executor.execute("UPDATE programs SET objectives = $2 WHERE program_id = $1", program_id, objectives)


async def close_program(executor: Executor, program_id: UUID, at: datetime) -> None:
    await executor.execute(
        "UPDATE programs SET closed_at = coalesce(closed_at, $2) WHERE program_id = $1", program_id, at
    )


async def load_program(executor: Executor, program_id: UUID) -> ProgramFacts | None:
    row = await executor.fetchrow("SELECT * FROM programs WHERE program_id = $1", program_id)
    if row is None:
        return None
    return ProgramFacts(
        row["program_id"], row["start_date"], row["end_date"], tuple(row["objectives"]), row["closed_at"]
    )


async def open_programs(executor: Executor) -> list[ProgramFacts]:
    rows = await executor.fetch("SELECT * FROM programs WHERE closed_at IS NULL ORDER BY program_id")
    return [
        ProgramFacts(row["program_id"], row["start_date"], row["end_date"], tuple(row["objectives"]), row["closed_at"])
        for row in rows
    ]


async def record_participant(
    executor: Executor,
    participant_id: UUID,
    program_id: UUID,
    employee_id: str,
    role: str,
    skills_wanted: list[str],
    objectives: list[str],
) -> None:
    await executor.execute(
        "INSERT INTO participants (participant_id, program_id, employee_id, role, skills_wanted, objectives, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'applied') ON CONFLICT (participant_id) DO NOTHING",
        participant_id,
        program_id,
        employee_id,
        role,
        skills_wanted,
        objectives,
    )


async def record_participants(
    executor: Executor, participants: Sequence[tuple[UUID, UUID, str, str, list[str], list[str]]]
) -> None:
    """`record_participant` for each of `participants` (participant, program, employee, role,
    skills wanted, objectives), in one statement; the first of one participant's counts."""
    await executor.execute(
        "INSERT INTO participants (participant_id, program_id, employee_id, role, skills_wanted, objectives, status)"
        " SELECT p.participant_id, p.program_id, p.employee_id, p.role,"
        " ARRAY(SELECT jsonb_array_elements_text(p.skills_wanted)),"
        " ARRAY(SELECT jsonb_array_elements_text(p.objectives)), 'applied'"
        " FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[]) WITH ORDINALITY"
        " AS p (participant_id, program_id, employee_id, role, skills_wanted, objectives, n)"
        " ORDER BY p.n ON CONFLICT (participant_id) DO NOTHING",
        [participant[0] for participant in participants],
        [participant[1] for participant in participants],
        [participant[2] for participant in participants],
        [participant[3] for participant in participants],
        [json.dumps(participant[4]) for participant in participants],
        [json.dumps(participant[5]) for participant in participants],
    )


async def set_statuses(executor: Executor, statuses: Sequence[tuple[UUID, str]]) -> None:
    """`set_status` for each (participant, status) in turn, in one statement: the last one of each
    participant stays."""
    await executor.execute(
        "UPDATE participants SET status = last.status FROM ("
        " SELECT DISTINCT ON (s.participant_id) s.participant_id, s.status"
        " FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS s (participant_id, status, n)"
        " ORDER BY s.participant_id, s.n DESC"
        ") AS last WHERE participants.participant_id = last.participant_id",
        [participant_id for participant_id, _ in statuses],
        [status for _, status in statuses],
    )


async def any_timeline(executor: Executor, participant_ids: Sequence[UUID]) -> bool:
    """Whether any of `participant_ids` is in a pair or was left unmatched: someone with a timeline
    of assessments (see `requests.request_due`)."""
    return bool(
        await executor.fetchval(
            "SELECT EXISTS (SELECT FROM pairs WHERE junior_id = ANY($1::uuid[]) OR senior_id = ANY($1::uuid[]))"
            " OR EXISTS (SELECT FROM participants WHERE participant_id = ANY($1::uuid[]) AND unmatched)",
            list(participant_ids),
        )
    )


async def set_status(executor: Executor, participant_id: UUID, status: str) -> ParticipantFacts | None:
    """Set the participant's status; their facts as they are now (None for someone not enrolled here)."""
    row = await executor.fetchrow(
        "UPDATE participants SET status = $2 WHERE participant_id = $1 RETURNING *", participant_id, status
    )
    return None if row is None else _participant(row)


async def set_unmatched(executor: Executor, participant_ids: list[UUID]) -> None:
    await executor.execute("UPDATE participants SET unmatched = true WHERE participant_id = ANY($1)", participant_ids)


async def update_wants(
    executor: Executor, participant_id: UUID, skills_wanted: list[str] | None, objectives: list[str] | None
) -> None:
    await executor.execute(
        "UPDATE participants SET skills_wanted = coalesce($2, skills_wanted), objectives = coalesce($3, objectives)"
        " WHERE participant_id = $1",
        participant_id,
        skills_wanted,
        objectives,
    )


def _participant(row: asyncpg.Record) -> ParticipantFacts:
    return ParticipantFacts(
        participant_id=row["participant_id"],
        program_id=row["program_id"],
        employee_id=row["employee_id"],
        role=Role(row["role"]),
        skills_wanted=tuple(row["skills_wanted"]),
        objectives=tuple(row["objectives"]),
        status=row["status"],
        unmatched=row["unmatched"],
    )


async def load_participant(executor: Executor, participant_id: UUID) -> ParticipantFacts | None:
    row = await executor.fetchrow("SELECT * FROM participants WHERE participant_id = $1", participant_id)
    return None if row is None else _participant(row)


async def participants_of_program(executor: Executor, program_id: UUID) -> list[ParticipantFacts]:
    rows = await executor.fetch("SELECT * FROM participants WHERE program_id = $1 ORDER BY participant_id", program_id)
    return [_participant(row) for row in rows]


async def record_pair_activated(
    executor: Executor,
    pair_id: UUID,
    program_id: UUID,
    junior_id: UUID,
    senior_id: UUID,
    activated_at: datetime,
    rotation_due_at: datetime,
) -> None:
    await executor.execute(
        "INSERT INTO pairs (pair_id, program_id, junior_id, senior_id, activated_at, rotation_due_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pair_id) DO NOTHING",
        pair_id,
        program_id,
        junior_id,
        senior_id,
        activated_at,
        rotation_due_at,
    )


async def record_pair_ended(executor: Executor, pair_id: UUID, ended_at: datetime) -> None:
    await executor.execute("UPDATE pairs SET ended_at = coalesce(ended_at, $2) WHERE pair_id = $1", pair_id, ended_at)


def _pair(row: asyncpg.Record) -> PairFacts:
    return PairFacts(
        row["pair_id"],
        row["program_id"],
        row["junior_id"],
        row["senior_id"],
        row["activated_at"],
        row["rotation_due_at"],
        row["ended_at"],
    )


async def load_pair(executor: Executor, pair_id: UUID) -> PairFacts | None:
    row = await executor.fetchrow("SELECT * FROM pairs WHERE pair_id = $1", pair_id)
    return None if row is None else _pair(row)


async def pairs_of(executor: Executor, participant_id: UUID) -> list[PairFacts]:
    """The participant's pairs, first activated first."""
    rows = await executor.fetch(
        "SELECT * FROM pairs WHERE $1 IN (junior_id, senior_id) ORDER BY activated_at, pair_id", participant_id
    )
    return [_pair(row) for row in rows]


async def record_session(
    executor: Executor,
    session_id: UUID,
    pair_id: UUID,
    program_id: UUID,
    junior_id: UUID,
    senior_id: UUID,
    status: str,
    held_at: datetime | None = None,
) -> None:
    await executor.execute(
        "INSERT INTO sessions (session_id, pair_id, program_id, junior_id, senior_id, status, held_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (session_id) DO UPDATE SET status = $6, held_at = coalesce($7, sessions.held_at)",
        session_id,
        pair_id,
        program_id,
        junior_id,
        senior_id,
        status,
        held_at,
    )


async def load_session(executor: Executor, session_id: UUID) -> HeldSession | None:
    """The session, if it was held."""
    row = await executor.fetchrow("SELECT * FROM sessions WHERE session_id = $1 AND status = 'held'", session_id)
    if row is None:
        return None
    return HeldSession(
        row["session_id"], row["pair_id"], row["program_id"], row["junior_id"], row["senior_id"], row["held_at"]
    )


async def held_sessions_of_pair(executor: Executor, pair_id: UUID) -> list[HeldSession]:
    rows = await executor.fetch(
        "SELECT * FROM sessions WHERE pair_id = $1 AND status = 'held' ORDER BY held_at", pair_id
    )
    return [
        HeldSession(
            row["session_id"], row["pair_id"], row["program_id"], row["junior_id"], row["senior_id"], row["held_at"]
        )
        for row in rows
    ]


async def session_counts(executor: Executor, participant_id: UUID) -> dict[str, int]:
    """How many of the participant's sessions are in each status (planned = scheduled, held or missed)."""
    rows = await executor.fetch(
        "SELECT status, count(*) AS n FROM sessions WHERE $1 IN (junior_id, senior_id) GROUP BY status",
        participant_id,
    )
    return {row["status"]: row["n"] for row in rows}
