"""What sessions knows of programs, people and pairs, as enrollment and pairing announced them.

Fed by the subscriptions, in the consumer's transaction; read by planning (terms, profiles, pairs)
and by the API (whose participant id is which employee).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from tandem_sessions.domain.calendar import Person, Window
from tandem_sessions.domain.schedule import PairRef

__all__ = [
    "PLANNING_FIELDS",
    "PROFILE_FIELDS",
    "ActivePair",
    "Executor",
    "Profile",
    "ProgramTerms",
    "active_pairs_of",
    "close_program",
    "erase_person",
    "load_pair",
    "load_pair_and_terms",
    "load_pairs_and_terms",
    "load_people",
    "load_profile",
    "load_terms",
    "record_pair",
    "record_person",
    "record_program",
    "set_objectives",
    "set_pair_status",
    "set_person_status",
    "update_profile",
]

Executor: TypeAlias = asyncpg.Pool | asyncpg.Connection

PROFILE_FIELDS = frozenset({"time_zone", "country", "languages", "availability", "skills_wanted", "objectives"})
"""The profile fields sessions keeps (what planning and agendas use)."""
PLANNING_FIELDS = frozenset({"time_zone", "country", "availability"})


@dataclass(frozen=True, slots=True)
class ProgramTerms:
    program_id: UUID
    cadence_days: int
    session_minutes: int
    start_date: date
    end_date: date
    objectives: Mapping[str, str]
    closed: bool


@dataclass(frozen=True, slots=True)
class Profile:
    participant_id: UUID
    program_id: UUID
    employee_id: str
    status: str
    fields: Mapping[str, Any]

    def person(self) -> Person:
        windows = tuple(
            Window(int(w["weekday"]), time.fromisoformat(w["start"]), time.fromisoformat(w["end"]))
            for w in self.fields.get("availability") or ()
        )
        return Person(
            self.participant_id, self.fields.get("time_zone") or "UTC", self.fields.get("country") or "", windows
        )

    def wanted_skills(self) -> list[str]:
        return [str(rating["skill"]) for rating in self.fields.get("skills_wanted") or ()]

    def objectives(self) -> list[str]:
        return [str(code) for code in self.fields.get("objectives") or ()]


@dataclass(frozen=True, slots=True)
class ActivePair:
    ref: PairRef
    activated_at: datetime
    rotation_due_at: datetime
    status: str
    attention: str | None = None  # the schedule's flags, kept in step with it (see ledger.save)
    at_risk: tuple[str, ...] = ()


async def record_program(
    executor: Executor,
    program_id: UUID,
    *,
    cadence_days: int,
    session_minutes: int,
    start_date: date,
    end_date: date,
    objectives: Mapping[str, str],
) -> None:
    await executor.execute(
        "INSERT INTO programs (program_id, cadence_days, session_minutes, start_date, end_date, objectives)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (program_id) DO UPDATE SET"
        " cadence_days = excluded.cadence_days, session_minutes = excluded.session_minutes,"
        " start_date = excluded.start_date, end_date = excluded.end_date,"
        " objectives = excluded.objectives",
        program_id,
        cadence_days,
        session_minutes,
        start_date,
        end_date,
        json.dumps(dict(objectives)),
    )


async def set_objectives(executor: Executor, program_id: UUID, objectives: Mapping[str, str]) -> None:
    await executor.execute(
        "UPDATE programs SET objectives = $2::jsonb WHERE program_id = $1", program_id, json.dumps(dict(objectives))
    )


async def close_program(executor: Executor, program_id: UUID) -> None:
    await executor.execute("UPDATE programs SET closed = true WHERE program_id = $1", program_id)


async def load_terms(executor: Executor, program_id: UUID) -> ProgramTerms | None:
    row = await executor.fetchrow(
        "SELECT *, program_id AS known_program FROM programs WHERE program_id = $1", program_id
    )
    return None if row is None else _terms_of_pair(row)


async def record_person(
    executor: Executor, participant_id: UUID, program_id: UUID, employee_id: str, profile: Mapping[str, Any]
) -> None:
    await executor.execute(
        "INSERT INTO people (participant_id, program_id, employee_id, status, profile)"
        " VALUES ($1, $2, $3, 'enrolled', $4::jsonb)"
        " ON CONFLICT (participant_id) DO UPDATE SET profile = excluded.profile WHERE people.status <> 'erased'",
        participant_id,
        program_id,
        employee_id,
        json.dumps(dict(profile)),
    )


async def record_people(executor: Executor, people: Sequence[tuple[UUID, UUID, str, Mapping[str, Any]]]) -> None:
    """`record_person` for each of `people` (participant, program, employee, profile), in one
    statement; each participant at most once."""
    await executor.execute(
        "INSERT INTO people (participant_id, program_id, employee_id, status, profile)"
        " SELECT p.participant_id, p.program_id, p.employee_id, 'enrolled', p.profile"
        " FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[])"
        " AS p (participant_id, program_id, employee_id, profile)"
        " ON CONFLICT (participant_id) DO UPDATE SET profile = excluded.profile WHERE people.status <> 'erased'",
        [person[0] for person in people],
        [person[1] for person in people],
        [person[2] for person in people],
        [json.dumps(dict(person[3])) for person in people],
    )


async def update_profile(executor: Executor, participant_id: UUID, changes: Mapping[str, Any]) -> None:
    await executor.execute(
        "UPDATE people SET profile = profile || $2::jsonb WHERE participant_id = $1 AND profile IS NOT NULL",
        participant_id,
        json.dumps(dict(changes)),
    )


async def set_person_status(executor: Executor, participant_id: UUID, status: str) -> None:
    await executor.execute("UPDATE people SET status = $2 WHERE participant_id = $1", participant_id, status)


async def erase_person(executor: Executor, participant_id: UUID) -> None:
    await executor.execute(
        "UPDATE people SET status = 'erased', profile = NULL WHERE participant_id = $1", participant_id
    )


def _profile(row: asyncpg.Record) -> Profile:
    fields = json.loads(row["profile"]) if row["profile"] is not None else {}
    return Profile(row["participant_id"], row["program_id"], row["employee_id"], row["status"], fields)


async def load_profile(executor: Executor, participant_id: UUID) -> Profile | None:
    row = await executor.fetchrow("SELECT * FROM people WHERE participant_id = $1", participant_id)
    return None if row is None else _profile(row)


async def load_people(executor: Executor, participant_ids: Sequence[UUID]) -> dict[UUID, Profile]:
    rows = await executor.fetch("SELECT * FROM people WHERE participant_id = ANY($1::uuid[])", list(participant_ids))
    return {row["participant_id"]: _profile(row) for row in rows}


async def record_pair(executor: Executor, ref: PairRef, activated_at: datetime, rotation_due_at: datetime) -> None:
    await executor.execute(
        "INSERT INTO pairs (pair_id, program_id, junior_id, senior_id, activated_at, rotation_due_at, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'active') ON CONFLICT (pair_id) DO NOTHING",
        ref.pair_id,
        ref.program_id,
        ref.junior_id,
        ref.senior_id,
        activated_at,
        rotation_due_at,
    )


async def set_pair_status(executor: Executor, pair_id: UUID, status: str) -> None:
    await executor.execute("UPDATE pairs SET status = $2 WHERE pair_id = $1", pair_id, status)


def _pair(row: asyncpg.Record) -> ActivePair:
    ref = PairRef(row["pair_id"], row["program_id"], row["junior_id"], row["senior_id"])
    return ActivePair(
        ref, row["activated_at"], row["rotation_due_at"], row["status"], row["attention"], tuple(row["at_risk"])
    )


_PAIRS_WITH_TERMS = (
    "SELECT p.*, g.program_id AS known_program, g.cadence_days, g.session_minutes, g.start_date, g.end_date,"
    " g.objectives, g.closed FROM pairs p LEFT JOIN programs g ON g.program_id = p.program_id"
)


def _terms_of_pair(row: asyncpg.Record) -> ProgramTerms | None:
    """The program's terms from a row of `programs` columns with its id as `known_program` (None: no program)."""
    if row["known_program"] is None:
        return None
    return ProgramTerms(
        row["known_program"],
        row["cadence_days"],
        row["session_minutes"],
        row["start_date"],
        row["end_date"],
        json.loads(row["objectives"]),
        row["closed"],
    )


async def load_pair_and_terms(executor: Executor, pair_id: UUID) -> tuple[ActivePair | None, ProgramTerms | None]:
    """The pair and its program's terms, in one query (either may be unknown yet)."""
    row = await executor.fetchrow(f"{_PAIRS_WITH_TERMS} WHERE p.pair_id = $1", pair_id)
    return (None, None) if row is None else (_pair(row), _terms_of_pair(row))


async def load_pairs_and_terms(
    executor: Executor, pair_ids: Sequence[UUID]
) -> dict[UUID, tuple[ActivePair, ProgramTerms | None]]:
    """`load_pair_and_terms` for many pairs, in one query (the unknown ones left out)."""
    rows = await executor.fetch(f"{_PAIRS_WITH_TERMS} WHERE p.pair_id = ANY($1::uuid[])", list(pair_ids))
    return {row["pair_id"]: (_pair(row), _terms_of_pair(row)) for row in rows}


async def load_pair(executor: Executor, pair_id: UUID) -> ActivePair | None:
    row = await executor.fetchrow("SELECT * FROM pairs WHERE pair_id = $1", pair_id)
    return None if row is None else _pair(row)


async def any_active_pair(executor: Executor, participant_ids: Sequence[UUID]) -> bool:
    """Whether any of `participant_ids` is in an active pair."""
    return bool(
        await executor.fetchval(
            "SELECT EXISTS (SELECT FROM pairs WHERE status = 'active'"
            " AND (junior_id = ANY($1::uuid[]) OR senior_id = ANY($1::uuid[])))",
            list(participant_ids),
        )
    )


async def active_pairs_of(executor: Executor, participant_id: UUID) -> list[ActivePair]:
    rows = await executor.fetch(
        "SELECT * FROM pairs WHERE (junior_id = $1 OR senior_id = $1) AND status = 'active' ORDER BY pair_id",
        participant_id,
    )
    return [_pair(row) for row in rows]
