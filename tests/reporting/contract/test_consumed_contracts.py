"""What reporting reads of each topic is what its producer publishes: each producer's checked-in
schema (`services/<producer>/contracts/events.schema.json`, kept current by the producer's own
contract tests). Every type is either read or knowingly ignored, and every type read has its effect
in the projection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tandem_kernel.contracts import EventContracts, incompatibilities
from tandem_kernel.events import EventRegistry
from tandem_reporting.adapters.projection import APPLY
from tandem_reporting.consumed import SOURCES, Source

ROOT = Path(__file__).resolve().parents[3]
_HARMLESS_FOR_READERS = ("added as required", "now required")


def _published(source: Source) -> dict[str, object]:
    checked_in = ROOT / f"services/{source.service}/contracts/events.schema.json"
    return json.loads(checked_in.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("source", SOURCES, ids=lambda source: source.service)
def test_reportings_readers_read_what_the_producer_publishes(source: Source) -> None:
    readers = EventContracts.of(source.registry, service=f"reporting-reads-{source.service}", topic=source.topic)

    problems = [
        problem
        for problem in incompatibilities(readers.events, _published(source))
        if not any(harmless in problem for harmless in _HARMLESS_FOR_READERS)
    ]

    assert problems == []


@pytest.mark.parametrize("source", SOURCES, ids=lambda source: source.service)
def test_every_published_type_is_either_read_or_knowingly_ignored(source: Source) -> None:
    published = _published(source)
    types = {schema["x-event-type"] for schema in published["$defs"].values() if "x-event-type" in schema}  # type: ignore[attr-defined]
    read = {model.event_type for model in source.registry.models()}

    assert types == read | source.ignored_types


def test_every_type_read_has_its_effect_in_the_projection() -> None:
    read = EventRegistry()
    for source in SOURCES:
        read = read.merge(source.registry)

    assert set(read.models()) == set(APPLY)
