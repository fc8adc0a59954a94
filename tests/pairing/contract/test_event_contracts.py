"""Pairing's published events only change compatibly, its checked-in contracts are current, and what it
reads of enrollment's events is what enrollment publishes.

When the first test fails: a removed, retyped or widened field, a new required field or a new enum
value in a published event breaks its stored history and its consumers; publish a new version of the
event (with an upcaster) instead. When only `test_the_checked_in_contracts_are_current` fails, the
change is compatible: regenerate with `tandem contracts pairing` and commit.
When the reader test fails, enrollment changed (or pairing started reading) a field in a way pairing's
tolerant readers (`tandem_pairing.consumed`) cannot follow.
"""

from __future__ import annotations

import json
from pathlib import Path

from tandem_kernel.contracts import EventContracts, incompatibilities
from tandem_pairing.consumed import ENROLLMENT_IGNORED_TYPES, ENROLLMENT_TOPIC, enrollment_registry
from tandem_pairing.consumed.evaluation import EVALUATION_IGNORED_TYPES, EVALUATION_TOPIC, evaluation_registry
from tandem_pairing.domain.events import PAIRING_EVENTS, PairEvent
from tandem_pairing.entrypoints.app import service

assert service.contracts_dir is not None
CONTRACTS = service.contracts_dir


def contracts() -> EventContracts:
    return EventContracts.of_service(service)


ENROLLMENT_CONTRACT = Path(__file__).resolve().parents[3] / "services/enrollment/contracts/events.schema.json"

# What a writer may do that a tolerant reader (extra="ignore", defaults for what it may miss) absorbs.
_HARMLESS_FOR_READERS = ("added as required", "now required")


def test_the_code_still_honours_every_published_event_schema() -> None:
    published = json.loads((CONTRACTS / "events.schema.json").read_text())

    assert incompatibilities(published, contracts().events) == []


def test_the_checked_in_contracts_are_current() -> None:
    generated = contracts()

    assert json.loads((CONTRACTS / "events.schema.json").read_text()) == generated.events
    assert json.loads((CONTRACTS / "asyncapi.json").read_text()) == generated.asyncapi


def test_every_pair_event_names_the_program_and_both_people() -> None:
    definitions = contracts().events["$defs"]
    pair_events = [model for model in PAIRING_EVENTS if issubclass(model, PairEvent)]

    assert len(pair_events) == 9
    for model in pair_events:
        required = set(definitions[model.__name__]["required"])
        assert {"pair_id", "program_id", "junior_id", "senior_id"} <= required, model.event_type


def test_pairings_readers_of_enrollment_events_read_what_enrollment_publishes() -> None:
    published = json.loads(ENROLLMENT_CONTRACT.read_text())
    # The readers as if they were the published contract, enrollment's schema as its next version:
    # every field pairing reads must still exist there, with a type and range the reader accepts.
    readers = EventContracts.of(enrollment_registry(), service="pairing-reads-enrollment", topic=ENROLLMENT_TOPIC)

    problems = [
        problem
        for problem in incompatibilities(readers.events, published)
        if not any(harmless in problem for harmless in _HARMLESS_FOR_READERS)
    ]

    assert problems == []


def test_every_enrollment_event_type_is_either_read_or_knowingly_ignored() -> None:
    published = json.loads(ENROLLMENT_CONTRACT.read_text())
    types = {schema["x-event-type"] for schema in published["$defs"].values() if "x-event-type" in schema}
    read = {model.event_type for model in enrollment_registry().models()}

    assert types == read | ENROLLMENT_IGNORED_TYPES


EVALUATION_CONTRACT = Path(__file__).resolve().parents[3] / "services/evaluation/contracts/events.schema.json"


def test_pairings_reader_of_evaluation_events_reads_what_evaluation_publishes() -> None:
    published = json.loads(EVALUATION_CONTRACT.read_text())
    readers = EventContracts.of(evaluation_registry(), service="pairing-reads-evaluation", topic=EVALUATION_TOPIC)

    problems = [
        problem
        for problem in incompatibilities(readers.events, published)
        if not any(harmless in problem for harmless in _HARMLESS_FOR_READERS)
    ]

    assert problems == []


def test_every_evaluation_event_type_is_either_read_or_knowingly_ignored() -> None:
    published = json.loads(EVALUATION_CONTRACT.read_text())
    types = {schema["x-event-type"] for schema in published["$defs"].values() if "x-event-type" in schema}

    assert types == {model.event_type for model in evaluation_registry().models()} | EVALUATION_IGNORED_TYPES
