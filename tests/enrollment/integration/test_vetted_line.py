"""The places ledger's line of vetted waiting participants (`vetted_waiting`) stays exact while
enrollments skip what cannot concern them: someone enrolled and approved at once was never in the
line, so their approval leaves it alone; the vetted who wait join it, and leave it with their place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from tandem_enrollment.adapters.read_model import participants_projection
from tandem_enrollment.application import enrollments, programs
from tandem_enrollment.domain import CreateProgram, EnrollParticipant, ParticipantStatus, WithdrawParticipant
from tandem_enrollment.entrypoints.app import registry, service
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventMetadata
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import ProjectionRunner
from tandem_kernel.store import EventStore

ACTOR = EventMetadata(actor="tests")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    await migrate(database_url, "enrollment", service.migrations)
    pool = await create_pool(database_url, "enrollment", min_size=1, max_size=3)
    store = EventStore(pool, schema="enrollment", registry=registry(), keyring=SubjectKeys("vetted line tests"))
    await ProjectionRunner(participants_projection, store, dsn=database_url).create_tables()
    try:
        yield store
    finally:
        await pool.close()


async def line(store: EventStore, program_id: UUID) -> set[UUID]:
    rows = await store.pool.fetch("SELECT participant_id FROM vetted_waiting WHERE program_id = $1", program_id)
    return {row["participant_id"] for row in rows}


async def test_the_vetted_line_holds_exactly_the_vetted_who_wait_as_people_enroll_and_leave(
    store: EventStore,
) -> None:
    created = await programs.create(
        store, CreateProgram.model_validate({**DEMO_PROGRAM, "capacity": 2, "auto_approve": True}), metadata=ACTOR
    )
    assert created.state is not None
    program_id = created.state.program_id
    await programs.open_(store, program_id, metadata=ACTOR)
    people = [EnrollParticipant.model_validate({**p, "program_id": program_id}) for p in sample_people(4, seed=9)]

    first, second, third, fourth = [await enrollments.enroll(store, p, metadata=ACTOR) for p in people]
    assert [r.state.status for r in (first, second, third, fourth) if r.state is not None] == [
        ParticipantStatus.APPROVED,
        ParticipantStatus.APPROVED,
        ParticipantStatus.WAITLISTED,
        ParticipantStatus.WAITLISTED,
    ]
    assert first.state is not None and third.state is not None and fourth.state is not None
    assert await line(store, program_id) == {third.state.participant_id, fourth.state.participant_id}

    await enrollments.withdraw(
        store, program_id, first.state.participant_id, WithdrawParticipant(), metadata=ACTOR
    )  # a place frees: the earliest vetted takes it, and leaves the line

    assert await line(store, program_id) == {fourth.state.participant_id}
