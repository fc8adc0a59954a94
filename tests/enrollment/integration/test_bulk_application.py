"""The bulk import through the application layer, on PostgreSQL, with no read model running: the
paths an HTTP test cannot pin down (a chunk meeting enrollments the read model has not seen yet,
capacity filled by an import)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest
from tandem_enrollment.adapters.read_model import participants_projection
from tandem_enrollment.application import FileFormat, enrollments, import_rows, parse_file, programs
from tandem_enrollment.domain import CreateProgram, EnrollParticipant, enrollment_id
from tandem_enrollment.entrypoints.app import registry, service
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, as_csv, sample_people
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import EventMetadata
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import ProjectionRunner
from tandem_kernel.store import EventStore

ACTOR = EventMetadata(actor="tests")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    await migrate(database_url, "enrollment", service.migrations)
    pool = await create_pool(database_url, "enrollment", min_size=1, max_size=6)
    store = EventStore(pool, schema="enrollment", registry=registry(), keyring=SubjectKeys("bulk tests"))
    # The read model's tables exist, as in the service, but nothing fills them here.
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


@pytest.mark.parametrize("capacity", [None, 100])
async def test_a_chunk_meeting_unseen_enrollments_falls_back_to_one_by_one(
    store: EventStore, capacity: int | None
) -> None:
    program_id = await open_program(store, capacity=capacity)
    people = sample_people(30, seed=5)
    for body in people[10:13]:  # enrolled meanwhile; the (idle) read model does not know them
        await enrollments.enroll(
            store, EnrollParticipant.model_validate({**body, "program_id": program_id}), metadata=ACTOR
        )
    rows = parse_file(as_csv(people).encode(), FileFormat.CSV, program_id)

    totals = await import_rows(store, program_id, rows, metadata=ACTOR, chunk_size=20, concurrency=3)

    assert (totals.enrolled, totals.duplicates, totals.rejected) == (27, 3, 0)
    assert sorted(problem.row for problem in totals.problems) == [12, 13, 14]
    assert (
        await store.pool.fetchval("SELECT count(DISTINCT stream_id) FROM events WHERE stream_id LIKE 'participant-%'")
        == 30
    )
    # Everyone's personal data was sealed with a key that exists (not one from a rolled-back chunk).
    for body in people:
        stream = f"participant-{enrollment_id(program_id, body['employee_id'])}"
        assert (await store.read_stream(stream))[0].payload.display_name == body["display_name"]  # type: ignore[attr-defined]


async def test_an_import_fills_a_capacity_exactly_and_waitlists_the_rest(store: EventStore) -> None:
    program_id = await open_program(store, capacity=5, auto_approve=True)
    rows = parse_file(as_csv(sample_people(12, seed=6)).encode(), FileFormat.CSV, program_id)

    totals = await import_rows(store, program_id, rows, metadata=ACTOR, chunk_size=4)

    assert totals.enrolled == 12
    statuses = await store.pool.fetch(
        "SELECT event_type, count(*) FROM events WHERE event_type IN"
        " ('enrollment.ParticipantApproved', 'enrollment.ParticipantWaitlisted') GROUP BY event_type ORDER BY 1"
    )
    assert [tuple(row) for row in statuses] == [
        ("enrollment.ParticipantApproved", 5),
        ("enrollment.ParticipantWaitlisted", 7),
    ]
    assert await store.pool.fetchval("SELECT approved FROM program_places WHERE program_id = $1", program_id) == 5
