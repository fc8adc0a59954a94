"""Event contracts: generated from the models, and compared so that published events stay readable."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from uuid import UUID

import pytest
from pydantic import Field
from tandem_kernel.contracts import EventContracts, incompatibilities
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.privacy import Personal


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Painted(DomainEvent, type="test.Painted", version=1):
    """Someone painted a thing."""

    thing_id: UUID
    coats: int
    label: str = Field(max_length=20)
    colour: Colour
    painter: Personal[str] | None = None

    def data_subject(self) -> str:
        return str(self.thing_id)


def events(*models: type[DomainEvent]) -> dict[str, object]:
    return EventContracts.of(EventRegistry(models), service="test", topic="tandem.test.v1").events


PUBLISHED = events(Painted)


def test_an_unchanged_contract_is_compatible_and_personal_fields_travel_sealed() -> None:
    assert incompatibilities(PUBLISHED, events(Painted)) == []
    schema = PUBLISHED["$defs"]["Painted"]  # type: ignore[index]
    assert schema["x-event-type"] == "test.Painted" and schema["x-event-version"] == 1
    assert schema["properties"]["painter"]["x-personal"] is True
    assert {"$ref": "#/$defs/SealedValue"} in schema["properties"]["painter"]["anyOf"]


def test_adding_an_optional_field_is_compatible() -> None:
    class Painted(DomainEvent, type="test.Painted", version=1):
        thing_id: UUID
        coats: int
        label: str = Field(max_length=20)
        colour: Colour
        painter: Personal[str] | None = None
        brush: str | None = None

    assert incompatibilities(PUBLISHED, events(Painted)) == []


class Removed(DomainEvent, type="test.Painted", version=1):
    thing_id: UUID
    label: str = Field(max_length=20)
    colour: Colour
    painter: Personal[str] | None = None


class Retyped(DomainEvent, type="test.Painted", version=1):
    thing_id: UUID
    coats: str
    label: str = Field(max_length=20)
    colour: Colour
    painter: Personal[str] | None = None


class Required(DomainEvent, type="test.Painted", version=1):
    thing_id: UUID
    coats: int
    label: str = Field(max_length=20)
    colour: Colour
    painter: Personal[str] | None = None
    brush: str


class Widened(DomainEvent, type="test.Painted", version=1):
    thing_id: UUID
    coats: int | None
    label: str = Field(max_length=40)
    colour: Colour
    painter: Personal[str] | None = None


class MoreColours(StrEnum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


class NewValue(DomainEvent, type="test.Painted", version=1):
    thing_id: UUID
    coats: int
    label: str = Field(max_length=20)
    colour: MoreColours
    painter: Personal[str] | None = None


@pytest.mark.parametrize(
    ("model", "problems"),
    [
        (Removed, ["test.Painted v1.coats: removed"]),
        (Retyped, ["test.Painted v1.coats: retyped, now string, was integer"]),
        (Required, ["test.Painted v1.brush: added as required (stored events lack it; give it a default)"]),
        (
            Widened,
            ["test.Painted v1.coats: retyped, now null, was integer", "test.Painted v1.label: maxLength widened"],
        ),
        (NewValue, ['test.Painted v1.colour: new values "green"']),
    ],
)
def test_breaking_an_existing_version_is_reported(model: type[DomainEvent], problems: list[str]) -> None:
    assert incompatibilities(PUBLISHED, events(model)) == problems


def test_a_breaking_change_under_a_new_version_is_fine_but_dropping_the_type_is_not() -> None:
    class PaintedAgain(DomainEvent, type="test.Painted", version=2):
        thing_id: UUID
        coats: str

    class Other(DomainEvent, type="test.Other", version=1):
        pass

    assert incompatibilities(PUBLISHED, events(PaintedAgain)) == []
    assert incompatibilities(PUBLISHED, events(Other)) == [
        "test.Painted v1: no longer published, and no newer version is"
    ]


def test_the_asyncapi_document_describes_the_channel_messages_and_headers(tmp_path: Path) -> None:
    contracts = EventContracts.of(EventRegistry([Painted]), service="test", topic="tandem.test.v1")

    written = contracts.write(tmp_path)

    document = contracts.asyncapi
    assert [path.name for path in written] == ["events.schema.json", "asyncapi.json"]
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["events"]["address"] == "tandem.test.v1"
    message = document["components"]["messages"]["Painted"]
    assert message["summary"] == "Someone painted a thing."
    assert message["headers"]["properties"]["ce_type"] == {"const": "test.Painted"}
    assert message["payload"]["properties"]["payload"] == {"$ref": "#/components/schemas/Painted"}
    assert "transaction_id" not in message["payload"]["properties"]
    assert document["operations"]["publishEvents"]["action"] == "send"
