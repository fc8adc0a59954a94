"""Retained envelopes (inbox rows) read in one pass decode exactly as the general path reads them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tandem_kernel.errors import UnreadableEvent
from tandem_kernel.events import DomainEvent, EventEnvelope, EventRegistry
from tandem_kernel.privacy import SEALED, Personal


class NameGiven(DomainEvent, type="test.NameGiven", version=2):
    person: str
    name: Personal[str] | None = None
    nickname: str | None = None


class NameCleared(DomainEvent, type="test.NameCleared", version=1):
    person: str


def registry() -> EventRegistry:
    registry = EventRegistry([NameGiven, NameCleared])
    registry.upcast("test.NameGiven", 1, lambda data: {"person": data["who"], "name": data.get("name")})
    return registry


def retained(event_type: str, payload: dict[str, Any], *, version: int = 1, **header: Any) -> str:
    return json.dumps(
        {
            "event_id": "0b0e5a3c-3f5e-4a53-9a4c-1b6f2f0e4a11",
            "event_type": event_type,
            "event_version": version,
            "stream_id": "person-1",
            "stream_version": 3,
            "position": 41,
            "transaction_id": 1234,
            "occurred_at": "2026-11-30T12:00:00+00:00",
            "correlation_id": "5d0f3c8e-2d7c-4b8e-9a49-0a3c9c1e2f10",
            "actor": "enrollment",
            "trace_context": {"traceparent": "00-1-2-01"},
            "payload": payload,
            **header,
        }
    )


@pytest.mark.parametrize(
    "text",
    [
        retained("test.NameGiven", {"person": "p1", "name": "Ada", "nickname": None}, version=2),
        retained("test.NameCleared", {"person": "p1"}),
        retained("test.NameGiven", {"person": "p1", "name": {SEALED: "b3BhcXVl"}}, version=2),  # sealed
        retained("test.NameGiven", {"who": "p1", "name": "Ada"}, version=1),  # an older version: upcast
    ],
)
def test_a_retained_envelope_reads_as_the_general_path_reads_it(text: str) -> None:
    one_pass, general = registry().envelope_from_retained(text), registry().envelope_from_json(text)

    assert one_pass == general and type(one_pass) is EventEnvelope
    assert repr(one_pass) == repr(general) and one_pass.model_fields_set == general.model_fields_set
    assert one_pass.position == 41 and one_pass.transaction_id == 1234


def test_sealed_fields_read_as_none_and_older_versions_are_upcast() -> None:
    sealed = retained("test.NameGiven", {"person": "p1", "name": {SEALED: "b3BhcXVl"}}, version=2)
    old = retained("test.NameGiven", {"who": "p2"}, version=1)

    assert registry().envelope_from_retained(sealed).payload == NameGiven(person="p1")
    assert registry().envelope_from_retained(old).payload == NameGiven(person="p2")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (retained("test.Unknown", {}), "unknown event type"),
        (retained("test.NameGiven", {"person": 7}, version=2), "does not match its schema"),
        (retained("test.NameGiven", {"person": "p1"}, version=3), "version 3 is not known"),
        (retained("test.NameCleared", {"person": "p1"}, event_id="not a uuid"), "event_id"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_what_the_general_path_refuses_is_refused_the_same_way(text: str, error: str) -> None:
    with pytest.raises(UnreadableEvent, match=error):
        registry().envelope_from_retained(text)
