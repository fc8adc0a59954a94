"""Participants recorded from a fetch of enrollment events at once — runs of enrollments and
approvals applied together (`policies.arrivals`) — against the same events handled one by one (the
per-event handlers, which a message handled alone still uses): the same facts, the same requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from evaluation.integration.conftest import Evaluation
from evaluation.integration.feed import PROFILE, Feed
from prometheus_client import REGISTRY
from tandem_enrollment.domain import events as enrollment
from tandem_enrollment.domain.participant import enrollment_id
from tandem_kernel.consumers import IncomingMessage, Outcome
from tandem_kernel.events import DomainEvent

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

ENROLLMENT_TOPIC = "tandem.enrollment.v1"

# What happens to each participant, in the order enrollment publishes it.
STORIES: dict[str, tuple[str, ...]] = {
    "approved": ("enrolled", "approved"),
    "approved too": ("enrolled", "approved"),
    "waitlisted": ("enrolled", "waitlisted"),
    "waitlisted, then approved": ("enrolled", "waitlisted", "approved"),
    "only enrolled": ("enrolled",),
    "enrolled twice": ("enrolled", "enrolled with other wants", "approved"),
}


def events_of(feed: Feed, program_id: UUID, employee_id: str, role: str, story: tuple[str, ...]) -> list[DomainEvent]:
    participant_id = enrollment_id(program_id, employee_id)
    feed.employees[participant_id] = employee_id
    identity = feed.identity(program_id, participant_id, role)

    def enrolled(*wants: str) -> enrollment.ParticipantEnrolled:
        return enrollment.ParticipantEnrolled.model_validate(
            {
                **identity,
                **PROFILE,
                "skills_wanted": [{"skill": skill, "level": 1} for skill in wants],
                "objectives": ["ai"],
                "display_name": "A Person",
                "email": "person@example.com",
                "enrolled_at": datetime.now(UTC),
            }
        )

    made: dict[str, Any] = {
        "enrolled": lambda: enrolled("ai_tools", "social_networks"),
        "enrolled with other wants": lambda: enrolled("public_speaking"),
        "approved": lambda: enrollment.ParticipantApproved(**identity, automatic=True),
        "waitlisted": lambda: enrollment.ParticipantWaitlisted(**identity, enrolled_at=datetime.now(UTC)),
    }
    return [made[step]() for step in story]


async def announce(feed: Feed, program_id: UUID) -> list[IncomingMessage]:
    """Every story's messages for `program_id`, interleaved across participants as a fetch mixes them."""
    streams = {
        f"EB-{n:03}": events_of(feed, program_id, f"EB-{n:03}", ("junior", "senior")[n % 2], story)
        for n, story in enumerate(STORIES.values())
    }
    messages: list[IncomingMessage] = []
    for round_ in range(max(map(len, streams.values()))):
        for employee_id, events in streams.items():
            if round_ < len(events):
                stream = f"participant-{enrollment_id(program_id, employee_id)}"
                messages += await feed.producers.publish(events[round_], stream)
    return messages


async def facts_of(service: Evaluation, program_id: UUID) -> list[tuple[Any, ...]]:
    rows = await service.pool.fetch(
        "SELECT employee_id, role, skills_wanted, objectives, status, unmatched FROM participants"
        " WHERE program_id = $1 ORDER BY employee_id",
        program_id,
    )
    return [tuple(row) for row in rows]


def splits() -> float:
    return REGISTRY.get_sample_value("tandem_consumer_batches_split_total", {"consumer": "evaluation.enrollment"}) or 0


async def test_a_fetch_of_arrivals_applied_together_leaves_the_facts_of_the_same_events_one_by_one(
    service: Evaluation, feed: Feed
) -> None:
    assert feed.processors is not None
    processor = feed.processors[ENROLLMENT_TOPIC]
    together, one_by_one = await feed.program(), await feed.program()
    split_before = splits()

    outcomes = await processor.process_batch(await announce(feed, together))
    for message in await announce(feed, one_by_one):
        assert await processor.process(message) == Outcome.HANDLED

    assert splits() == split_before, "the fetch was applied in one transaction, not split and handled one by one"
    assert set(outcomes) == {Outcome.HANDLED}
    recorded = await facts_of(service, together)
    assert recorded == await facts_of(service, one_by_one)
    statuses = {story: row[4] for story, row in zip(STORIES, recorded, strict=True)}
    assert statuses == {
        "approved": "approved",
        "approved too": "approved",
        "waitlisted": "waitlisted",
        "waitlisted, then approved": "approved",
        "only enrolled": "applied",
        "enrolled twice": "approved",
    }
    assert recorded[-1][2] == ["ai_tools", "social_networks"]  # the first enrollment's wants, as one by one


async def test_an_approval_in_a_fetch_of_someone_already_paired_is_asked_for_assessments_as_alone(
    service: Evaluation, feed: Feed
) -> None:
    # A pair's activation may reach evaluation before the approval of one of its people.
    assert feed.processors is not None
    processor = feed.processors[ENROLLMENT_TOPIC]
    program = await feed.program()
    asked: dict[str, int] = {}
    for how in ("together", "alone"):
        senior = await feed.participant(program, "senior")
        junior = enrollment_id(program, f"EB-{how}")
        await feed.pair(program, junior, senior, activated_at=datetime.now(UTC) - timedelta(days=1))
        messages: list[IncomingMessage] = []
        for event in events_of(feed, program, f"EB-{how}", "junior", ("enrolled", "approved")):
            messages += await feed.producers.publish(event, f"participant-{junior}")
        if how == "together":
            assert await processor.process_batch(messages) == [Outcome.HANDLED, Outcome.HANDLED]
        else:
            assert [await processor.process(message) for message in messages] == [Outcome.HANDLED] * 2
        asked[how] = len(await service.store.read_stream(f"evaluation-{junior}"))

    assert asked["together"] == asked["alone"] > 0
