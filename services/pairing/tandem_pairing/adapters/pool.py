"""The pool: programs and participants as enrollment announced them, in pairing's own tables.

Written by the enrollment subscription (`application.policies`), read by rounds and the
compatibility endpoint. A participant's `profile` is the matching part of their enrollment, as JSON;
`candidate_from_profile` turns it into the domain's `Candidate`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg
from tandem_kernel.database import advisory_lock_key

from tandem_pairing.consumed import ParticipantEnrolled, ProgramCreated
from tandem_pairing.domain import AvailabilityWindow, Candidate, MeetingPreference, Role
from tandem_pairing.domain.program_rules import ProgramTerms

__all__ = [
    "POOL_STATUSES",
    "PROFILE_FIELDS",
    "Executor",
    "PoolMember",
    "candidate_from_profile",
    "close_program",
    "counts",
    "erase",
    "load_approved",
    "load_member",
    "load_terms",
    "lock_program",
    "members_of_employee",
    "not_approved",
    "record_enrollment",
    "record_enrollments",
    "record_program",
    "set_status",
    "set_statuses",
    "update_profile",
]

Executor: TypeAlias = asyncpg.Pool | asyncpg.Connection

PROFILE_FIELDS = (
    "department",
    "site",
    "time_zone",
    "manager_employee_id",
    "languages",
    "skills_offered",
    "skills_wanted",
    "objectives",
    "availability",
    "meeting_preference",
)
"""The enrollment profile fields pairing matches on (and keeps)."""


POOL_STATUSES = ("applied", "approved", "waitlisted", "withdrawn")
"""A pool member's status, in enrollment's words; only the approved are in rounds."""


@dataclass(frozen=True, slots=True)
class PoolMember:
    """A participant as the pool knows them, whatever their status."""

    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role
    status: str
    profile: Mapping[str, Any] | None


async def lock_program(connection: asyncpg.Connection, program_id: UUID) -> None:
    """Serialise, until the transaction ends, what changes a program's pool and what writes its rounds.

    A round writing its proposals and a participant withdrawing take turns: either the round sees
    the withdrawal, or the withdrawal sees the round's proposals (and withdraws them).
    """
    await connection.execute("SELECT pg_advisory_xact_lock($1)", advisory_lock_key(f"pairing-program:{program_id}"))


async def record_program(executor: Executor, event: ProgramCreated) -> None:
    await executor.execute(
        "INSERT INTO pool_programs (program_id, session_minutes, rotation_months, proposal_expiry_days)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (program_id) DO UPDATE SET session_minutes = excluded.session_minutes,"
        " rotation_months = excluded.rotation_months, proposal_expiry_days = excluded.proposal_expiry_days,"
        " updated_at = now()",
        event.program_id,
        event.session_minutes,
        event.rotation_months,
        event.proposal_expiry_days,
    )


async def close_program(executor: Executor, program_id: UUID) -> None:
    await executor.execute(
        "UPDATE pool_programs SET closed = true, updated_at = now() WHERE program_id = $1", program_id
    )


async def load_terms(executor: Executor, program_id: UUID) -> ProgramTerms | None:
    """The program's terms, or None if enrollment has not announced it (yet)."""
    row = await executor.fetchrow("SELECT * FROM pool_programs WHERE program_id = $1", program_id)
    if row is None:
        return None
    return ProgramTerms(
        program_id=row["program_id"],
        session_minutes=row["session_minutes"],
        rotation_months=row["rotation_months"],
        proposal_expiry_days=row["proposal_expiry_days"],
        closed=row["closed"],
    )


async def record_enrollment(executor: Executor, event: ParticipantEnrolled) -> None:
    profile = event.model_dump(mode="json", include=set(PROFILE_FIELDS))
    await executor.execute(
        "INSERT INTO pool_participants (participant_id, program_id, employee_id, role, status, profile)"
        " VALUES ($1, $2, $3, $4, 'applied', $5::jsonb) ON CONFLICT (participant_id) DO UPDATE SET"
        " profile = excluded.profile, updated_at = now()",
        event.participant_id,
        event.program_id,
        event.employee_id,
        event.role.value,
        json.dumps(profile),
    )


async def record_enrollments(executor: Executor, events: Sequence[ParticipantEnrolled]) -> None:
    """`record_enrollment` for many in one statement; a participant enrolled twice keeps the last profile
    (one statement cannot change a row twice)."""
    last = {event.participant_id: event for event in events}
    if not last:
        return
    await executor.execute(
        "INSERT INTO pool_participants (participant_id, program_id, employee_id, role, status, profile)"
        " SELECT e.participant_id, e.program_id, e.employee_id, e.role, 'applied', e.profile"
        " FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[])"
        " AS e(participant_id, program_id, employee_id, role, profile)"
        " ON CONFLICT (participant_id) DO UPDATE SET profile = excluded.profile, updated_at = now()",
        list(last),
        [event.program_id for event in last.values()],
        [event.employee_id for event in last.values()],
        [event.role.value for event in last.values()],
        [json.dumps(event.model_dump(mode="json", include=set(PROFILE_FIELDS))) for event in last.values()],
    )


async def set_statuses(executor: Executor, changes: Sequence[tuple[UUID, str]]) -> None:
    """`set_status` for many in one statement, in order: a participant named twice ends with the last."""
    last = dict(changes)
    if not last:
        return
    await executor.execute(
        "UPDATE pool_participants p SET status = c.status, updated_at = now()"
        " FROM unnest($1::uuid[], $2::text[]) AS c(participant_id, status) WHERE p.participant_id = c.participant_id",
        list(last),
        list(last.values()),
    )


async def set_status(executor: Executor, participant_id: UUID, status: str) -> None:
    await executor.execute(
        "UPDATE pool_participants SET status = $2, updated_at = now() WHERE participant_id = $1", participant_id, status
    )


async def erase(executor: Executor, participant_id: UUID) -> None:
    """Forget the participant's profile (they are withdrawn); the id stays, so their pair history still reads."""
    await executor.execute(
        "UPDATE pool_participants SET status = 'withdrawn', profile = NULL, updated_at = now()"
        " WHERE participant_id = $1",
        participant_id,
    )


async def update_profile(executor: Executor, participant_id: UUID, changes: Mapping[str, Any]) -> None:
    """Overwrite the given profile fields (JSON values); the others stay."""
    await executor.execute(
        "UPDATE pool_participants SET profile = profile || $2::jsonb, updated_at = now()"
        " WHERE participant_id = $1 AND profile IS NOT NULL",
        participant_id,
        json.dumps(dict(changes)),
    )


def _member(row: asyncpg.Record) -> PoolMember:
    profile = row["profile"]
    return PoolMember(
        participant_id=row["participant_id"],
        program_id=row["program_id"],
        employee_id=row["employee_id"],
        role=Role(row["role"]),
        status=row["status"],
        profile=json.loads(profile) if profile is not None else None,
    )


async def load_member(executor: Executor, participant_id: UUID) -> PoolMember | None:
    row = await executor.fetchrow("SELECT * FROM pool_participants WHERE participant_id = $1", participant_id)
    return _member(row) if row is not None else None


async def members_of_employee(executor: Executor, employee_id: str) -> list[PoolMember]:
    """Every pool membership of the employee (`employee_id` canonical, upper-case), in every program."""
    rows = await executor.fetch(
        "SELECT * FROM pool_participants WHERE upper(employee_id) = $1 ORDER BY program_id, participant_id",
        employee_id,
    )
    return [_member(row) for row in rows]


async def load_approved(executor: Executor, program_id: UUID) -> list[PoolMember]:
    """Everyone approved in the program: its pool."""
    rows = await executor.fetch(
        "SELECT * FROM pool_participants WHERE program_id = $1 AND status = 'approved' AND profile IS NOT NULL",
        program_id,
    )
    # Decoding 40,000 profiles takes a second or two of CPU: not on the event loop.
    return await asyncio.to_thread(lambda: [_member(row) for row in rows])


async def counts(executor: Executor, program_id: UUID) -> dict[str, dict[str, int]]:
    """How many of the program's participants pairing knows, by role and status (enrollment's words)."""
    rows = await executor.fetch(
        "SELECT role, status, count(*) AS n FROM pool_participants WHERE program_id = $1 GROUP BY role, status",
        program_id,
    )
    found: dict[str, dict[str, int]] = {role.value: dict.fromkeys(POOL_STATUSES, 0) for role in Role}
    for row in rows:
        found[row["role"]][row["status"]] = row["n"]
    return found


async def not_approved(executor: Executor, participant_ids: Iterable[UUID]) -> set[UUID]:
    """Those of `participant_ids` no longer approved (withdrawn or erased since)."""
    rows = await executor.fetch(
        "SELECT participant_id FROM pool_participants WHERE participant_id = ANY($1::uuid[]) AND status <> 'approved'",
        list(participant_ids),
    )
    return {row["participant_id"] for row in rows}


@lru_cache(maxsize=1 << 14)
def _window(weekday: int, start: str, end: str) -> AvailabilityWindow:
    # Pools repeat the same slots thousands of times: build each once.
    return AvailabilityWindow(weekday, time.fromisoformat(start), time.fromisoformat(end))


def candidate_from_profile(member: PoolMember, capacity: int) -> Candidate:
    """The domain's view of a pool member, who may take `capacity` partners this round."""
    profile = member.profile
    if profile is None:
        raise ValueError(f"participant {member.participant_id} has no profile (erased)")
    return Candidate(
        participant_id=member.participant_id,
        employee_id=member.employee_id,
        role=member.role,
        department=profile["department"],
        site=profile["site"],
        time_zone=profile["time_zone"],
        languages=frozenset(profile["languages"]),
        skills_offered={rating["skill"]: rating["level"] for rating in profile["skills_offered"]},
        skills_wanted={rating["skill"]: rating["level"] for rating in profile["skills_wanted"]},
        objectives=frozenset(profile["objectives"]),
        availability=tuple(_window(w["weekday"], w["start"], w["end"]) for w in profile["availability"]),
        meeting_preference=MeetingPreference(profile["meeting_preference"]),
        manager_employee_id=profile["manager_employee_id"],
        capacity=capacity,
    )
