"""Trusted decoding: events read back from the service's own store skip the checks marked
`unless_trusted`; everything else (commands, wire input, upcast data) is validated in full."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from pydantic import AfterValidator, ValidationError
from tandem_kernel.errors import UnreadableEvent
from tandem_kernel.events import TRUSTED, DomainEvent, EventRegistry, parse_wire, unless_trusted

checked: list[tuple[str, ...]] = []


def _sorted_without_repeats(codes: tuple[str, ...]) -> tuple[str, ...]:
    checked.append(codes)
    if len(set(codes)) != len(codes):
        raise ValueError("codes repeat")
    return tuple(sorted(codes))


class TagsChosen(DomainEvent, type="test.TagsChosen", version=2):
    tags: Annotated[tuple[str, ...], AfterValidator(unless_trusted(_sorted_without_repeats))]


def registry() -> EventRegistry:
    registry = EventRegistry([TagsChosen])
    registry.upcast("test.TagsChosen", 1, lambda data: {"tags": data["tag_list"]})
    return registry


def wire(data: dict[str, object], version: int = 2) -> dict[str, object]:
    return {
        "event_id": "0b0e5a3c-3f5e-4a53-9a4c-1b6f2f0e4a11",
        "event_type": "test.TagsChosen",
        "event_version": version,
        "stream_id": "tags-1",
        "stream_version": 1,
        "position": 1,
        "occurred_at": "2026-11-30T12:00:00+00:00",
        "payload": data,
    }


def test_a_trusted_read_decodes_the_stored_form_to_the_same_event_without_the_checks() -> None:
    event = TagsChosen(tags=("b", "a"))  # decided: checked and sorted
    stored = registry().encode(event)
    checked.clear()

    assert registry().decode("test.TagsChosen", 2, stored, trusted=True) == event
    assert registry().decode_stored("test.TagsChosen", 2, json.dumps(stored)) == event
    assert checked == []
    assert registry().decode("test.TagsChosen", 2, stored) == event
    assert checked == [("a", "b")]


def test_only_the_trusted_context_skips_a_check() -> None:
    with pytest.raises(ValidationError, match="codes repeat"):
        TagsChosen.model_validate({"tags": ["a", "a"]}, context={"trusted": True})
    assert TagsChosen.model_validate({"tags": ["a", "a"]}, context=TRUSTED).tags == ("a", "a")


def test_wire_input_is_validated_in_full() -> None:
    with pytest.raises(UnreadableEvent, match="codes repeat"):
        registry().envelope_from_document(wire({"tags": ["a", "a"]}))
    with pytest.raises(UnreadableEvent, match="codes repeat"):
        registry().envelope_from_json(json.dumps(wire({"tags": ["a", "a"]})))
    assert registry().envelope_from_document(wire({"tags": ["b", "a"]})).payload == TagsChosen(tags=("a", "b"))
    assert parse_wire(json.dumps(wire({"tags": []})))["payload"] == {"tags": []}


def test_what_an_upcaster_made_is_validated_in_full_even_when_read_trusted() -> None:
    expected = TagsChosen(tags=("a", "b"))
    checked.clear()
    decoded = registry().decode("test.TagsChosen", 1, {"tag_list": ["b", "a"]}, trusted=True)

    assert decoded == expected and checked == [("b", "a")]
    with pytest.raises(UnreadableEvent, match="codes repeat"):
        registry().decode("test.TagsChosen", 1, {"tag_list": ["a", "a"]}, trusted=True)
