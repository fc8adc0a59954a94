"""People recorded from a fetch of enrollment events at once — runs of enrollments applied together
(`policies.record_enrollments`) — against the same events handled one by one (the per-event
handler, which a message handled alone still uses): the same rows, the same re-planning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any
from uuid import UUID

import pytest
from pairing.integration.enrollment_feed import PROFILE
from prometheus_client import REGISTRY
from sessions.integration.conftest import PROGRAM, Sessions
from tandem_enrollment.domain import events as enrollment
from tandem_enrollment.domain.participant import enrollment_id
from tandem_kernel.consumers import IncomingMessage, Outcome

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

AFTERNOONS = [{"weekday": day, "start": time(14), "end": time(17)} for day in range(5)]


def enrolled(program_id: UUID, employee_id: str, role: str, **profile: Any) -> enrollment.ParticipantEnrolled:
    return enrollment.ParticipantEnrolled(
        participant_id=enrollment_id(program_id, employee_id),
        program_id=program_id,
        employee_id=employee_id,
        role=role,
        **{**PROFILE, **profile},
        display_name="A Person",
        email="person@example.com",
        enrolled_at=datetime.now(UTC),
    )


async def announce(service: Sessions, program_id: UUID) -> list[IncomingMessage]:
    """Enrollments and approvals as a busy program sends them, one person enrolling twice."""
    messages: list[IncomingMessage] = []
    for n, role in enumerate(("junior", "senior", "junior", "senior")):
        event = enrolled(program_id, f"B-{n}", role, time_zone=("Europe/Paris", "Europe/London")[n % 2])
        messages += await service.enrollment.producer.publish(f"participant-{event.participant_id}", [event])
        approved = enrollment.ParticipantApproved(
            participant_id=event.participant_id,
            program_id=program_id,
            employee_id=event.employee_id,
            role=role,
            automatic=True,
        )
        if n == 1:  # an approval between enrollments ends a run
            messages += await service.enrollment.producer.publish(f"participant-{event.participant_id}", [approved])
    again = enrolled(program_id, "B-0", "junior", availability=AFTERNOONS)  # the same person, a new profile
    messages += await service.enrollment.producer.publish(f"participant-{again.participant_id}", [again])
    return messages


async def people(service: Sessions, program_id: UUID) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await service.pool.fetch(
        "SELECT employee_id, status, profile FROM people WHERE program_id = $1 ORDER BY employee_id", program_id
    )
    return [(row["employee_id"], row["status"], json.loads(row["profile"])) for row in rows]


def splits() -> float:
    return REGISTRY.get_sample_value("tandem_consumer_batches_split_total", {"consumer": "sessions.enrollment"}) or 0


async def test_a_fetch_of_enrollments_recorded_together_leaves_the_people_of_the_same_events_one_by_one(
    service: Sessions,
) -> None:
    together, one_by_one = await service.enrollment.program(**PROGRAM), await service.enrollment.program(**PROGRAM)
    split_before = splits()

    outcomes = await service.enrollment.processor.process_batch(await announce(service, together))
    for message in await announce(service, one_by_one):
        assert await service.enrollment.processor.process(message) in (Outcome.HANDLED, Outcome.IGNORED)

    assert splits() == split_before, "the fetch was applied in one transaction, not split and handled one by one"
    assert set(outcomes) <= {Outcome.HANDLED, Outcome.IGNORED}
    recorded = await people(service, together)
    assert recorded == await people(service, one_by_one)
    assert [employee for employee, _, _ in recorded] == ["B-0", "B-1", "B-2", "B-3"]
    assert recorded[0][2]["availability"][0]["start"].startswith("14:00")  # the later enrollment's profile
    assert recorded[1][2]["time_zone"] == "Europe/London"


async def test_someone_in_an_active_pair_enrolling_again_within_a_fetch_has_the_pair_re_planned(
    service: Sessions,
) -> None:
    pair = await service.pair({}, {})
    planned = len(await service.store.read_stream(f"schedule-{pair.pair_id}"))
    employee = service.enrollment.employees[pair.junior_id]
    again = enrolled(pair.program_id, employee, "junior", availability=AFTERNOONS)
    newcomer = enrolled(pair.program_id, "B-NEW", "senior")
    messages = await service.enrollment.producer.publish(f"participant-{pair.junior_id}", [again])
    messages += await service.enrollment.producer.publish(f"participant-{newcomer.participant_id}", [newcomer])

    assert await service.enrollment.processor.process_batch(messages) == [Outcome.HANDLED, Outcome.HANDLED]

    assert len(await service.store.read_stream(f"schedule-{pair.pair_id}")) > planned, "re-planned for afternoons"
    recorded = {employee_id: profile for employee_id, _, profile in await people(service, pair.program_id)}
    assert recorded[employee]["availability"][0]["start"].startswith("14:00")
    assert "B-NEW" in recorded
