"""Sessions' published events only change compatibly, its checked-in contracts are current, they
carry exactly what the agreed contract names, and what it reads of enrollment's and pairing's
events is what they publish.

When only `test_the_checked_in_contracts_are_current` fails, the change is compatible: regenerate
with `tandem contracts sessions` and commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tandem_kernel.contracts import EventContracts, incompatibilities
from tandem_kernel.events import EventRegistry
from tandem_sessions.consumed import enrollment, pairing
from tandem_sessions.domain.events import SESSIONS_EVENTS, PairEvent, SessionEvent
from tandem_sessions.entrypoints.app import service

assert service.contracts_dir is not None
CONTRACTS = service.contracts_dir
SERVICES = Path(__file__).resolve().parents[3] / "services"

# What a writer may do that a tolerant reader (extra="ignore", defaults for what it may miss) absorbs.
_HARMLESS_FOR_READERS = ("added as required", "now required")

# The cross-service contract agreed for sessions (/work/notes/contracts.md): each event's fields.
AGREED: dict[str, set[str]] = {
    "SessionScheduled": {"starts_at", "duration_minutes", "sequence", "extra"},
    "SessionRescheduled": {"starts_at", "previous_starts_at", "sequence"},
    "SessionCancelled": {"reason", "cancelled_by", "late", "sequence"},
    "SessionAgendaUpdated": {"item_count"},
    "SessionHeld": {"held_at", "duration_minutes"},
    "SessionMissed": {"absent"},
    "SessionReminderDue": {"starts_at"},
    "PairAtRisk": {"reason", "detected_at"},
    "PairNeedsAttention": {"reason", "detected_at"},
}
PAIR_FIELDS = {"pair_id", "program_id", "junior_id", "senior_id"}


def contracts() -> EventContracts:
    return EventContracts.of_service(service)


def test_the_code_still_honours_every_published_event_schema() -> None:
    published = json.loads((CONTRACTS / "events.schema.json").read_text())

    assert incompatibilities(published, contracts().events) == []


def test_the_checked_in_contracts_are_current() -> None:
    generated = contracts()

    assert json.loads((CONTRACTS / "events.schema.json").read_text()) == generated.events
    assert json.loads((CONTRACTS / "asyncapi.json").read_text()) == generated.asyncapi


@pytest.mark.parametrize("name", sorted(AGREED))
def test_each_agreed_event_carries_exactly_the_agreed_fields(name: str) -> None:
    definition = contracts().events["$defs"][name]
    model = next(model for model in SESSIONS_EVENTS if model.__name__ == name)
    session_fields = {"session_id"} if issubclass(model, SessionEvent) else set()

    assert model.event_type == f"sessions.{name}" and model.event_version == 1
    assert set(definition["properties"]) == AGREED[name] | PAIR_FIELDS | session_fields
    assert set(definition["required"]) >= PAIR_FIELDS | session_fields


def test_every_event_names_the_pair_the_program_and_both_people() -> None:
    for model in SESSIONS_EVENTS:
        assert issubclass(model, PairEvent), model.event_type


@pytest.mark.parametrize(
    ("producer", "readers", "ignored"),
    [
        ("enrollment", enrollment.enrollment_registry(), enrollment.ENROLLMENT_IGNORED_TYPES),
        ("pairing", pairing.pairing_registry(), pairing.PAIRING_IGNORED_TYPES),
    ],
)
def test_the_readers_read_what_the_producers_publish_and_know_every_type(
    producer: str, readers: EventRegistry, ignored: frozenset[str]
) -> None:
    published = json.loads((SERVICES / producer / "contracts/events.schema.json").read_text())
    as_contract = EventContracts.of(readers, service=f"sessions-reads-{producer}", topic=f"tandem.{producer}.v1")

    problems = [
        problem
        for problem in incompatibilities(as_contract.events, published)
        if not any(harmless in problem for harmless in _HARMLESS_FOR_READERS)
    ]
    types = {schema["x-event-type"] for schema in published["$defs"].values() if "x-event-type" in schema}
    read = {model.event_type for model in readers.models()}

    assert problems == []
    assert types == read | ignored
