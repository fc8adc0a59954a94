"""Evaluation's published events only change compatibly and its checked-in contracts are current; what it
reads of enrollment's, pairing's and sessions' events is what they publish.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tandem_evaluation.consumed import enrollment, pairing, sessions
from tandem_evaluation.domain.events import EVALUATION_EVENTS
from tandem_evaluation.entrypoints.app import service
from tandem_kernel.contracts import EventContracts, incompatibilities
from tandem_kernel.events import EventRegistry

assert service.contracts_dir is not None
CONTRACTS = service.contracts_dir
SERVICES = Path(__file__).resolve().parents[3] / "services"

# What a writer may do that a tolerant reader (extra="ignore", defaults for what it may miss) absorbs.
_HARMLESS_FOR_READERS = ("added as required", "now required")


def contracts() -> EventContracts:
    return EventContracts.of_service(service)


def test_the_code_still_honours_every_published_event_schema() -> None:
    published = json.loads((CONTRACTS / "events.schema.json").read_text())

    assert incompatibilities(published, contracts().events) == []


def test_the_checked_in_contracts_are_current() -> None:
    generated = contracts()

    assert json.loads((CONTRACTS / "events.schema.json").read_text()) == generated.events
    assert json.loads((CONTRACTS / "asyncapi.json").read_text()) == generated.asyncapi


def test_the_published_events_are_the_agreed_ones_and_carry_no_free_text() -> None:
    definitions = contracts().events["$defs"]
    agreed = {
        "AssessmentRequested", "SkillsAssessed", "PracticeAdopted", "PracticeAbandoned", "ObjectiveProgressed",
        "SessionFeedbackGiven", "PairFitAnswered", "PairFitFailed", "SurveyAnswered", "ProgramImpactUpdated",
    }  # fmt: skip

    assert {model.__name__ for model in EVALUATION_EVENTS} == agreed
    for name in agreed:
        assert not {"comment", "description", "text", "notes"} & set(definitions[name]["properties"]), name


def _published(producer: str) -> tuple[dict[str, Any], str]:
    return json.loads((SERVICES / producer / "contracts/events.schema.json").read_text()), f"{producer}'s contract"


READERS = {
    "enrollment": (enrollment.enrollment_registry(), enrollment.ENROLLMENT_TOPIC, enrollment.ENROLLMENT_IGNORED_TYPES),
    "pairing": (pairing.pairing_registry(), pairing.PAIRING_TOPIC, pairing.PAIRING_IGNORED_TYPES),
    "sessions": (sessions.sessions_registry(), sessions.SESSIONS_TOPIC, sessions.SESSIONS_IGNORED_TYPES),
}


@pytest.mark.parametrize("producer", sorted(READERS))
def test_evaluations_readers_read_what_the_producer_publishes(producer: str) -> None:
    registry, topic, _ = READERS[producer]
    published, source = _published(producer)
    # The readers as if they were the published contract, the producer's as its next version: every
    # field evaluation reads must still exist there, with a type and range the reader accepts.
    readers = EventContracts.of(registry, service=f"evaluation-reads-{producer}", topic=topic)

    problems = [
        problem
        for problem in incompatibilities(readers.events, published)
        if not any(harmless in problem for harmless in _HARMLESS_FOR_READERS)
    ]

    assert problems == [], f"against {source}"


@pytest.mark.parametrize("producer", sorted(READERS))
def test_every_event_type_of_the_producer_is_either_read_or_knowingly_ignored(producer: str) -> None:
    registry, _, ignored = READERS[producer]
    published, source = _published(producer)
    types = {schema["x-event-type"] for schema in published["$defs"].values() if "x-event-type" in schema}

    assert types == {model.event_type for model in registry.models()} | ignored, f"against {source}"


def test_the_readers_catch_a_sessions_field_they_need_going_missing() -> None:
    # The check has teeth: without `held_at`, SessionHeld no longer gives evaluation what it reads.
    schema, _ = _published("sessions")
    held = schema["$defs"]["SessionHeld"]
    del held["properties"]["held_at"]
    held["required"].remove("held_at")
    readers = EventContracts.of(
        EventRegistry([sessions.SessionHeld]), service="evaluation-reads-sessions", topic=sessions.SESSIONS_TOPIC
    )

    assert any("held_at" in problem for problem in incompatibilities(readers.events, schema))
