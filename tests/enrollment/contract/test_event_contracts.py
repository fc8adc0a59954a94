"""The events enrollment publishes only change compatibly, and their checked-in contracts are current.

When this fails: a removed, retyped or widened field, a new required field or a new enum value in a
published event breaks its stored history and its consumers; publish a new version of the event
(with an upcaster) instead. When only `test_the_checked_in_contracts_are_current` fails, the change
is compatible: regenerate with `tandem contracts enrollment` and commit.
"""

from __future__ import annotations

import json

from tandem_enrollment.entrypoints.app import service
from tandem_kernel.contracts import EventContracts, incompatibilities

assert service.contracts_dir is not None
CONTRACTS = service.contracts_dir


def contracts() -> EventContracts:
    return EventContracts.of_service(service)


def test_the_code_still_honours_every_published_event_schema() -> None:
    published = json.loads((CONTRACTS / "events.schema.json").read_text())

    assert incompatibilities(published, contracts().events) == []


def test_the_checked_in_contracts_are_current() -> None:
    generated = contracts()

    assert json.loads((CONTRACTS / "events.schema.json").read_text()) == generated.events
    assert json.loads((CONTRACTS / "asyncapi.json").read_text()) == generated.asyncapi


def test_personal_fields_are_published_sealed_and_only_those() -> None:
    definitions = contracts().events["$defs"]

    personal = {
        (name, field)
        for name, schema in definitions.items()
        for field, property_schema in schema.get("properties", {}).items()
        if property_schema.get("x-personal")
    }
    assert personal == {
        (event, field)
        for event in ("ParticipantEnrolled", "ParticipantProfileUpdated")
        for field in ("display_name", "email", "personal_goals")
    }
