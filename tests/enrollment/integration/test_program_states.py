"""Enrollment commands read their program through `LatestStates` (caught up with the program's new
events, not read from the start), and judge whether it is far from full by the count they last saw:
two replicas on one database, each with its own pool and store, must still see at once what the
other did to a program, and never overfill it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from tandem_enrollment.adapters.read_model import participants_projection
from tandem_enrollment.application import enrollments, load_program, programs
from tandem_enrollment.application.places import HEADROOM
from tandem_enrollment.domain import (
    ChangeEligibilityRules,
    CreateProgram,
    EnrollParticipant,
    ParticipantStatus,
    ProgramStatus,
)
from tandem_enrollment.entrypoints.app import registry, service
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.errors import DomainError, InvalidTransition
from tandem_kernel.events import EventMetadata
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import ProjectionRunner
from tandem_kernel.store import EventStore

ACTOR = EventMetadata(actor="tests")


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[EventStore, EventStore]]:
    await migrate(database_url, "enrollment", service.migrations)
    pools = [await create_pool(database_url, "enrollment", min_size=1, max_size=3) for _ in range(2)]
    stores = [
        EventStore(pool, schema="enrollment", registry=registry(), keyring=SubjectKeys("program states tests"))
        for pool in pools
    ]
    await ProjectionRunner(participants_projection, stores[0], dsn=database_url).create_tables()
    try:
        yield stores[0], stores[1]
    finally:
        for pool in pools:
            await pool.close()


def enrolling(program_id: UUID, n: int) -> EnrollParticipant:
    return EnrollParticipant.model_validate({**sample_people(n + 1, seed=7)[n], "program_id": program_id})


async def open_program(store: EventStore, **terms: object) -> UUID:
    created = await programs.create(store, CreateProgram.model_validate({**DEMO_PROGRAM, **terms}), metadata=ACTOR)
    assert created.state is not None
    await programs.open_(store, created.state.program_id, metadata=ACTOR)
    return created.state.program_id


async def test_a_program_started_by_another_replica_between_two_enrollments_takes_no_more(
    replicas: tuple[EventStore, EventStore],
) -> None:
    here, there = replicas
    program_id = await open_program(here, capacity=None)
    await enrollments.enroll(here, enrolling(program_id, 0), metadata=ACTOR)  # the program is now held here

    await programs.start(there, program_id, metadata=ACTOR)

    with pytest.raises(InvalidTransition, match="not open for enrollment"):
        await enrollments.enroll(here, enrolling(program_id, 1), metadata=ACTOR)
    assert (await load_program(here, program_id)).status is ProgramStatus.RUNNING


async def test_eligibility_changed_by_another_replica_applies_to_the_next_enrollment_here(
    replicas: tuple[EventStore, EventStore],
) -> None:
    here, there = replicas
    program_id = await open_program(here, capacity=None, auto_approve=True)
    first = await enrollments.enroll(here, enrolling(program_id, 0), metadata=ACTOR)  # a junior of level 1
    assert first.state is not None and first.state.status is ParticipantStatus.APPROVED

    juniors_above_level_1 = ChangeEligibilityRules.model_validate({"eligibility": {"junior": {"min_job_level": 2}}})
    await programs.change_eligibility(there, program_id, juniors_above_level_1, metadata=ACTOR)

    with pytest.raises(DomainError, match="job level"):
        await enrollments.enroll(here, enrolling(program_id, 2), metadata=ACTOR)  # another junior of level 1
    assert (await load_program(here, program_id)).eligibility == (await load_program(there, program_id)).eligibility


async def test_a_program_filled_by_another_replica_is_not_overfilled_by_one_that_saw_it_nearly_empty(
    replicas: tuple[EventStore, EventStore],
) -> None:
    # Here the program was last seen far from full (an optimistic enrollment then does not read the
    # count); there, it fills up. The next enrollment here must still meet the capacity exactly.
    here, there = replicas
    capacity = HEADROOM + 10
    program_id = await open_program(here, capacity=capacity, auto_approve=True)
    await enrollments.enroll(here, enrolling(program_id, 0), metadata=ACTOR)
    for n in range(1, capacity):
        await enrollments.enroll(there, enrolling(program_id, n), metadata=ACTOR)

    late = await enrollments.enroll(here, enrolling(program_id, capacity), metadata=ACTOR)

    assert late.state is not None and late.state.status is ParticipantStatus.WAITLISTED
    approved = await here.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'enrollment.ParticipantApproved'"
        " AND payload->>'program_id' = $1",
        str(program_id),
    )
    assert approved == capacity
