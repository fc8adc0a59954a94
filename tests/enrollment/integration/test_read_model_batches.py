"""The batched read model against the one it replaced (one SQL statement per event), on PostgreSQL.

A generated history with every event type goes through the application layer; the read model is
then built from it one event at a time by the old handlers (`per_event_read_model`), and by the
batched projection in batches of every size from one event to the whole history (so that an
enrollment, its waitlisting, its profile changes, its withdrawal, the promotion it frees and its
erasure fall in one batch, or across several). Every table must hold the same rows.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from enrollment.integration.per_event_read_model import per_event_projection
from tandem_enrollment.adapters.read_model import PARTICIPANT_CHANGES, PROGRAM_CHANGES, participants_projection
from tandem_enrollment.application import enrollments, programs
from tandem_enrollment.application.streams import PARTICIPANTS, load_program
from tandem_enrollment.domain import (
    ChangeEligibilityRules,
    ChangeProgramObjectives,
    CreateProgram,
    EnrollParticipant,
    UpdateParticipantProfile,
    WithdrawParticipant,
    decide_enroll,
)
from tandem_enrollment.entrypoints.app import registry, service
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.errors import DomainError
from tandem_kernel.events import EventMetadata, NewEvent
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import Projection, ProjectionRunner
from tandem_kernel.store import EventStore

ACTOR = EventMetadata(actor="tests")
TABLES = {"programs": "program_id", "participants": "participant_id"}


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    await migrate(database_url, "enrollment", service.migrations)
    pool = await create_pool(database_url, "enrollment", min_size=1, max_size=4)
    store = EventStore(pool, schema="enrollment", registry=registry(), keyring=SubjectKeys("batch tests"))
    # The service's own read model exists (freeing a place reads its waitlist), idle here.
    await ProjectionRunner(participants_projection, store, dsn=database_url).create_tables()
    try:
        yield store
    finally:
        await pool.close()


async def open_program(store: EventStore, **terms: Any) -> UUID:
    created = await programs.create(store, CreateProgram.model_validate({**DEMO_PROGRAM, **terms}), metadata=ACTOR)
    assert created.state is not None
    await programs.open_(store, created.state.program_id, metadata=ACTOR)
    return created.state.program_id


async def generate_history(store: EventStore, seed: int) -> None:
    """Three programs (auto-approving and full, approving by hand, approving by hand and full) and
    their participants through everything that can happen to them, in a random order."""
    rng = random.Random(seed)
    full_auto = await open_program(store, capacity=4, auto_approve=True)
    by_hand = await open_program(store, capacity=None, auto_approve=False)
    full_by_hand = await open_program(store, capacity=3, auto_approve=False)
    retitled = [{**DEMO_PROGRAM["objectives"][0], "title": "Prompt well"}, *DEMO_PROGRAM["objectives"][1:]]
    await programs.change_objectives(
        store, full_auto, ChangeProgramObjectives.model_validate({"objectives": retitled}), metadata=ACTOR
    )
    await programs.change_eligibility(
        store, by_hand, ChangeEligibilityRules.model_validate({"eligibility": {}}), metadata=ACTOR
    )
    enrolled: list[tuple[UUID, UUID]] = []  # (program, participant)
    homes = (full_auto, by_hand, full_by_hand)
    for n, body in enumerate(sample_people(36, seed=seed)):
        # Some people enroll in two programs: erasing them erases both enrollments.
        for program_id in [homes[n % 3], *([homes[(n + 1) % 3]] if n % 5 == 0 else [])]:
            result = await enrollments.enroll(
                store, EnrollParticipant.model_validate({**body, "program_id": program_id}), metadata=ACTOR
            )
            assert result.state is not None
            enrolled.append((program_id, result.state.participant_id))
    # Waitlisted in an auto-approving program before `ParticipantVetted` existed: vetted by its terms.
    program = await load_program(store, full_auto)
    for body in sample_people(3, seed=seed, first_employee=9000):
        command = EnrollParticipant.model_validate({**body, "program_id": full_auto})
        enrolled_waiting = decide_enroll(None, command, program=program, approved_count=10**6, now=datetime.now(UTC))[
            :2
        ]
        participant_id = enrolled_waiting[0].participant_id  # type: ignore[attr-defined]
        await store.append(
            PARTICIPANTS.stream_id(participant_id), 0, [NewEvent(e) for e in enrolled_waiting], metadata=ACTOR
        )
    changes: list[dict[str, Any]] = [
        {"display_name": "Renamed Person", "email": "renamed@example.com"},
        {"personal_goals": None, "manager_employee_id": None},
        {"site": "Lyon", "department": "Research", "meeting_preference": "remote"},
        {"languages": ["en"], "job_level": 3, "personal_goals": "New goals"},
    ]
    for _ in range(90):
        program_id, participant_id = rng.choice(enrolled)
        action = rng.choice(("approve", "approve", "update", "update", "withdraw", "erase"))
        try:
            if action == "approve":
                await enrollments.approve(store, program_id, participant_id, metadata=ACTOR)
            elif action == "update":
                command = UpdateParticipantProfile.model_validate(rng.choice(changes))
                await enrollments.update_profile(store, program_id, participant_id, command, metadata=ACTOR)
            elif action == "withdraw":
                command = WithdrawParticipant.model_validate({"reason": rng.choice(("workload", "other"))})
                await enrollments.withdraw(store, program_id, participant_id, command, metadata=ACTOR)
            else:
                # Shreds the person's key: their other enrollment reads as erased too, on a rebuild.
                await enrollments.erase(store, program_id, participant_id, metadata=ACTOR)
        except DomainError:
            pass  # approving someone approved, updating someone erased: refused, nothing appended
    await programs.start(store, by_hand, metadata=ACTOR)
    await programs.close(store, by_hand, metadata=ACTOR)


async def built(store: EventStore, database_url: str, projection: Projection, batch_size: int) -> dict[str, list[Any]]:
    runner = ProjectionRunner(projection, store, dsn=database_url, batch_size=batch_size, max_attempts=1)
    await runner.create_tables()
    await runner.catch_up()
    assert not await store.pool.fetchval("SELECT count(*) FROM projection_dead_letters")
    return await contents(store, projection.read_schema)


async def contents(store: EventStore, schema: str) -> dict[str, list[Any]]:
    return {
        table: [dict(row) for row in await store.pool.fetch(f"SELECT * FROM {schema}.{table} ORDER BY {key}")]
        for table, key in TABLES.items()
    }


def batched(batch_size: int) -> Projection:
    name = f"participants_batches_of_{batch_size}"
    return replace(participants_projection, name=name, read_schema=f"enrollment_read_{name}")


@pytest.mark.parametrize("seed", [1, 2])
async def test_batches_of_any_size_build_the_read_model_the_per_event_handlers_built(
    store: EventStore, database_url: str, seed: int
) -> None:
    await generate_history(store, seed)
    types = {row["event_type"] for row in await store.pool.fetch("SELECT DISTINCT event_type FROM events")}
    missing = {model.event_type for model in (*PROGRAM_CHANGES, *PARTICIPANT_CHANGES)} - types
    assert not missing, "the history has every event type the read model takes"  # else it proves less

    expected = await built(store, database_url, per_event_projection, batch_size=1)

    participants = expected["participants"]
    assert any(row["erased"] and row["display_name"] is None and row["email"] is None for row in participants)
    assert any(row["display_name"] is not None for row in participants)
    assert any((row["site"], row["department"]) == ("Lyon", "Research") for row in participants)
    assert {row["status"] for row in participants} == {"applied", "approved", "waitlisted", "withdrawn"}
    assert any(row["status"] == "waitlisted" and row["vetted"] for row in participants)
    for batch_size in (1, 7, 10_000):
        assert await built(store, database_url, batched(batch_size), batch_size) == expected, batch_size


async def test_a_rebuild_in_batches_gives_the_same_read_model(store: EventStore, database_url: str) -> None:
    await generate_history(store, seed=3)
    live = batched(500)
    expected = await built(store, database_url, per_event_projection, batch_size=1)
    await built(store, database_url, live, batch_size=500)
    await store.pool.execute(f"UPDATE {live.read_schema}.participants SET display_name = 'stale'")

    await ProjectionRunner(live, store, dsn=database_url, batch_size=500).rebuild()

    assert await contents(store, live.read_schema) == expected
