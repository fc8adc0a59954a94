"""The pool kept from a fetch of enrollment events at once — runs of enrollments, approvals and
waitlistings applied together (`policies.record_arrivals`) — against the same events handled one
by one (the per-event handlers, which a message handled alone still uses): the same rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pairing.integration.conftest import Pairing
from pairing.integration.enrollment_feed import PROFILE, EnrollmentFeed
from prometheus_client import REGISTRY
from tandem_enrollment.domain import events as enrollment
from tandem_enrollment.domain.participant import enrollment_id
from tandem_kernel.consumers import IncomingMessage, Outcome
from tandem_kernel.events import DomainEvent
from tandem_pairing.application.policies import SUBSCRIPTION_NAME

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

ENROLLED_AT = datetime(2026, 3, 2, 9, tzinfo=UTC)

# What happens to each participant, in the order enrollment publishes it.
STORIES: dict[str, tuple[str, ...]] = {
    "approved": ("enrolled", "approved"),
    "waitlisted": ("enrolled", "waitlisted"),
    "waitlisted, then approved": ("enrolled", "waitlisted", "approved"),
    "only enrolled": ("enrolled",),
    "changed their profile after approval": ("enrolled", "approved", "updated"),
    "withdrew": ("enrolled", "approved", "withdrew"),
    "enrolled twice": ("enrolled", "enrolled elsewhere", "approved"),
}


def story_events(program_id: UUID, employee_id: str, role: str, story: tuple[str, ...]) -> list[DomainEvent]:
    participant_id = enrollment_id(program_id, employee_id)
    identity: dict[str, Any] = {
        "participant_id": participant_id,
        "program_id": program_id,
        "employee_id": employee_id,
        "role": role,
    }
    made: dict[str, Any] = {
        "enrolled": lambda: enrollment.ParticipantEnrolled(
            **identity, **PROFILE, display_name="A Person", email="person@example.com", enrolled_at=ENROLLED_AT
        ),
        "enrolled elsewhere": lambda: enrollment.ParticipantEnrolled(
            **identity,
            **{**PROFILE, "site": "Nice"},
            display_name="A Person",
            email="person@example.com",
            enrolled_at=ENROLLED_AT,
        ),
        "approved": lambda: enrollment.ParticipantApproved(**identity, automatic=True),
        "waitlisted": lambda: enrollment.ParticipantWaitlisted(**identity, enrolled_at=ENROLLED_AT),
        "updated": lambda: enrollment.ParticipantProfileUpdated(**identity, changed_fields=("site",), site="Paris"),
        "withdrew": lambda: enrollment.ParticipantWithdrew.model_validate(
            {**identity, "reason": "workload", "previous_status": "approved"}
        ),
    }
    return [made[step]() for step in story]


async def announce(feed: EnrollmentFeed, program_id: UUID) -> list[IncomingMessage]:
    """Every story's messages for `program_id`, interleaved across participants as a fetch mixes them."""
    messages: list[IncomingMessage] = []
    streams = {
        f"E-{n:03}": story_events(program_id, f"E-{n:03}", ("junior", "senior")[n % 2], story)
        for n, story in enumerate(STORIES.values())
    }
    for round_ in range(max(map(len, streams.values()))):
        for employee_id, events in streams.items():
            if round_ < len(events):
                stream = f"participant-{enrollment_id(program_id, employee_id)}"
                messages += await feed.producer.publish(stream, [events[round_]])
    return messages


def splits() -> float:
    return REGISTRY.get_sample_value("tandem_consumer_batches_split_total", {"consumer": SUBSCRIPTION_NAME}) or 0.0


async def pool_rows(service: Pairing, program_id: UUID) -> list[tuple[Any, ...]]:
    rows = await service.pool.fetch(
        "SELECT employee_id, role, status, profile FROM pool_participants WHERE program_id = $1 ORDER BY employee_id",
        program_id,
    )
    return [tuple(row) for row in rows]


async def test_a_fetch_applied_together_leaves_the_pool_as_the_same_events_one_by_one(
    service: Pairing, feed: EnrollmentFeed
) -> None:
    together, one_by_one = await feed.program(), await feed.program()
    splits_before = splits()

    outcomes = await feed.processor.process_batch(await announce(feed, together))
    assert splits() == splits_before, "the fetch was applied in one transaction, not split and handled one by one"
    for message in await announce(feed, one_by_one):
        assert await feed.processor.process(message) == Outcome.HANDLED

    assert set(outcomes) == {Outcome.HANDLED}
    rows = await pool_rows(service, together)
    assert rows == await pool_rows(service, one_by_one)
    statuses = dict(zip(STORIES, (row[2] for row in rows), strict=True))
    assert statuses == {
        "approved": "approved",
        "waitlisted": "waitlisted",
        "waitlisted, then approved": "approved",
        "only enrolled": "applied",
        "changed their profile after approval": "approved",
        "withdrew": "withdrawn",
        "enrolled twice": "approved",
    }
    sites = {
        story: row[3]["site"] if isinstance(row[3], dict) else json.loads(row[3])["site"]
        for story, row in zip(STORIES, rows, strict=True)
    }
    assert sites["enrolled twice"] == "Nice"  # the last enrollment's profile
