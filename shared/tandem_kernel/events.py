"""Domain events, their envelope, and the registry that maps stored JSON back to models.

A service's domain declares its events as frozen pydantic models::

    class ParticipantEnrolled(DomainEvent, type="enrollment.ParticipantEnrolled", version=1):
        participant_id: UUID
        program_id: UUID

The envelope carries what every subscriber needs besides the payload (ids, ordering, causality,
trace context). Serialization lives here, in one place: events never serialize themselves.

Events read back from the service's own store were validated when they were decided: the registry
decodes them *trusted* (validation context `TRUSTED`), and a domain's costly checks written as
`unless_trusted(check)` let them through unchecked. Everything else (a command, a message from
another service) is validated in full.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union
from uuid import UUID, uuid4

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    create_model,
)

from tandem_kernel.errors import UnknownEventType, UnreadableEvent
from tandem_kernel.privacy import SEALED, is_sealed, personal_fields, strip_sealed

__all__ = [
    "TRUSTED",
    "DomainEvent",
    "EventEnvelope",
    "EventMetadata",
    "EventRegistry",
    "NewEvent",
    "Upcaster",
    "parse_wire",
    "unless_trusted",
]

T = TypeVar("T")

TRUSTED = MappingProxyType({"trusted": True})
"""The validation context of an event read back from the service's own store (`EventRegistry.decode`
with `trusted=True`, `decode_stored`): it passed every validator when it was decided and was stored
as its model dumped it, so checks that only reject bad input have nothing left to find. The same
holds for a service's read models, folded from those events: their rows may be read back trusted."""


def unless_trusted(check: Callable[[T], T]) -> Callable[[T, ValidationInfo], T]:
    """`check` (a pydantic validator of one value) skipped when the value is read back trusted.

    For checks that reject input or put it in the form the model keeps (sorted, without repeats,
    parsed): the stored form is already what they return. A rule that may change over time does not
    belong in an event's validators at all (stored events must still decode after it changed).

    >>> Languages = Annotated[tuple[LanguageCode, ...], AfterValidator(unless_trusted(_without_repeats))]
    """

    def validator(value: T, info: ValidationInfo) -> T:
        return value if info.context is TRUSTED else check(value)

    return validator


class DomainEvent(BaseModel):
    """Base of every domain event: immutable, with a stable type name and a schema version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    event_version: ClassVar[int]

    def __init_subclass__(cls, *, type: str | None = None, version: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if type is not None:
            cls.event_type = type
            cls.event_version = version

    def data_subject(self) -> str | None:
        """The person whose `Personal[...]` fields this event carries, if any (see `privacy`)."""
        return None


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Who and what caused an append: copied into the envelope of every event it writes."""

    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    actor: str | None = None  # who: the authenticated subject, or the service acting on its own
    trace_context: dict[str, str] = field(default_factory=dict)
    actor_role: str | None = None  # in which role they acted (see identity.Roles)
    actor_client: str | None = None  # the OAuth client: which platform or application


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended: the payload plus the ids the store will keep."""

    payload: DomainEvent
    event_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventEnvelope(BaseModel):
    """A stored event as every reader sees it.

    `position` is the global, gap-free-in-reading sequence number; readers that tail the store order
    by (`transaction_id`, `position`), which is the commit-safe order (see `EventStore.read_all`).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    event_id: UUID
    event_type: str
    event_version: int
    stream_id: str
    stream_version: int
    position: int
    # Commit-order key inside the owning service; not carried on the wire.
    transaction_id: int | None = None
    occurred_at: datetime
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    actor: str | None = None
    actor_role: str | None = None
    actor_client: str | None = None
    # A factory, not `= {}`: pydantic deep-copied that default for every envelope read without one.
    trace_context: dict[str, str] = Field(default_factory=dict, json_schema_extra={"default": {}})
    payload: DomainEvent

    def caused(self, *, actor: str | None = None) -> EventMetadata:
        """Metadata for events appended in reaction to this one (same correlation, caused by it)."""
        return EventMetadata(
            correlation_id=self.correlation_id or self.event_id,
            causation_id=self.event_id,
            actor=actor or self.actor,
            trace_context=dict(self.trace_context),
            actor_role=None if actor else self.actor_role,
            actor_client=None if actor else self.actor_client,
        )


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventRegistry:
    """Maps (event type, version) to a model; upcasts older stored versions on read.

    >>> registry = EventRegistry([ParticipantEnrolled])
    >>> registry.upcast("enrollment.ParticipantEnrolled", 1, lambda data: {**data, "site": None})
    """

    def __init__(self, models: Iterable[type[DomainEvent]] = ()) -> None:
        self._models: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        # Built on first use, for envelopes without and with sealed fields: see envelope_from_retained.
        self._retained: dict[bool, TypeAdapter[EventEnvelope]] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[DomainEvent]) -> type[DomainEvent]:
        existing = self._models.get(model.event_type)
        if existing is not None and existing is not model:
            raise ValueError(f"event type {model.event_type!r} registered twice")
        # Readers without the subject's key see a personal field as None (see privacy.strip_sealed).
        required = sorted(name for name in personal_fields(model) if model.model_fields[name].is_required())
        if required:
            raise ValueError(f"{model.event_type}: personal fields must be optional (= None): {', '.join(required)}")
        self._models[model.event_type] = model
        self._retained = {}
        return model

    def upcast(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Declare how to turn `from_version` of a type into `from_version + 1`."""
        self._upcasters[(event_type, from_version)] = upcaster

    def merge(self, other: EventRegistry) -> EventRegistry:
        merged = EventRegistry(self.models())
        for model in other.models():
            merged.register(model)
        merged._upcasters = {**self._upcasters, **other._upcasters}
        return merged

    def models(self) -> list[type[DomainEvent]]:
        return list(self._models.values())

    def knows(self, event_type: str) -> bool:
        return event_type in self._models

    def is_current(self, event_type: str, version: int) -> bool:
        """Whether stored data of `event_type` at `version` is its model's current form (no upcasting)."""
        model = self._models.get(event_type)
        return model is not None and model.event_version == version

    def decode(self, event_type: str, version: int, data: dict[str, Any], *, trusted: bool = False) -> DomainEvent:
        """Build the current model of `event_type` from stored data of `version`.

        Personal fields still sealed (the reader has no key, or it was erased) decode to `None`.
        `trusted`: the data is an event of this service's own store (see `TRUSTED`); what an upcaster
        made of older data is validated in full all the same.
        """
        model = self._models.get(event_type)
        if model is None:
            raise UnknownEventType(f"unknown event type {event_type!r}")
        if version > model.event_version or version < 1:
            raise UnknownEventType(
                f"event {event_type!r} version {version} is not known "
                f"(this service reads up to version {model.event_version})"
            )
        if any(is_sealed(value) for value in data.values()):
            data = strip_sealed(data)
        context = TRUSTED if trusted and version == model.event_version else None
        while version < model.event_version:
            upcaster = self._upcasters.get((event_type, version))
            if upcaster is None:
                raise UnknownEventType(f"no upcaster for {event_type!r} from version {version}")
            data = upcaster(data)
            version += 1
        try:
            return model.model_validate(data, context=context)
        except ValidationError as error:
            raise UnreadableEvent(f"{event_type} v{version} does not match its schema: {error}") from error

    def decode_stored(self, event_type: str, version: int, stored: str) -> DomainEvent:
        """`decode`, trusted, from the JSON text of an event in this service's own store: parsed and
        validated in one pass by pydantic when it is of the current version with nothing sealed
        (most events, and the hot path of catch-up and rebuild); otherwise parsed first and given
        to `decode`."""
        model = self._models.get(event_type)
        if model is None or version != model.event_version or SEALED in stored:
            return self.decode(event_type, version, json.loads(stored), trusted=True)
        try:
            return model.model_validate_json(stored, context=TRUSTED)
        except ValidationError as error:
            raise UnreadableEvent(f"{event_type} v{version} does not match its schema: {error}") from error

    @staticmethod
    def encode(event: DomainEvent) -> dict[str, Any]:
        return event.model_dump(mode="json")

    # -- reading the wire form (written by the store: see store.read_all_wire) ------------------

    def envelope_from_json(self, raw: bytes | str) -> EventEnvelope:
        """The envelope of a wire document; `UnreadableEvent` for anything that is not one.

        Whatever is wrong with the bytes (not JSON, a field of the wrong type, a payload that is
        not an object, a type this registry does not know) ends here as `UnreadableEvent`, so a
        consumer dead-letters it at once instead of retrying it.
        """
        return self.envelope_from_document(parse_wire(raw))

    def envelope_from_retained(self, text: str) -> EventEnvelope:
        """The envelope of a document this service retained after reading it as wire input (an
        inbox row, see `inbox`): what `envelope_from_json` returns, in one pass when it can.

        An envelope of a type's current version is parsed and validated by pydantic at once, header
        and payload (the general path parses, then validates the header, the payload and the
        envelope in turn: two to three times the cost). Anything else takes the general path, which
        upcasts, or says what is wrong.
        """
        if self._models:
            try:
                envelope = self._retained_envelopes(sealed=SEALED in text).validate_json(text)
            except ValidationError:
                pass  # an older version, or not an envelope: the general path below reads or refuses it
            else:
                # Validated by the twin of EventEnvelope made for its type (the same fields, the
                # payload typed): it is an EventEnvelope in every respect but its class.
                object.__setattr__(envelope, "__class__", EventEnvelope)
                return envelope
        return self.envelope_from_json(text)

    def _retained_envelopes(self, *, sealed: bool) -> TypeAdapter[EventEnvelope]:
        """One validator for the current version of every registered type's envelope, chosen by
        `event_type` (a tagged union of twins of EventEnvelope, one per type). With `sealed`, each
        payload's sealed fields are made `None` first, as `decode` does (at a little more cost:
        the payload is built as a dict for that)."""
        if sealed not in self._retained:
            twins = [_envelope_twin(model, sealed=sealed) for model in self._models.values()]
            tagged: Any = Annotated[Union.__getitem__(tuple(twins)), Field(discriminator="event_type")]
            self._retained[sealed] = TypeAdapter(twins[0] if len(twins) == 1 else tagged)
        return self._retained[sealed]

    def envelope_from_document(self, document: dict[str, Any]) -> EventEnvelope:
        """Like `envelope_from_json`, from the already parsed document (see `parse_wire`)."""
        try:
            header = _WireHeader.model_validate(document)
        except ValidationError as error:
            raise UnreadableEvent(f"envelope does not match its schema: {_first_errors(error)}") from error
        try:
            payload = self.decode(header.event_type, header.event_version, header.payload)
            return EventEnvelope.model_validate({**document, "payload": payload})
        except UnreadableEvent:
            raise
        except ValidationError as error:
            raise UnreadableEvent(f"envelope does not match its schema: {_first_errors(error)}") from error
        except Exception as error:  # an upcaster or a validator that chokes on odd data
            raise UnreadableEvent(f"{header.event_type} v{header.event_version} cannot be read: {error!r}") from error


def _envelope_twin(model: type[DomainEvent], *, sealed: bool) -> type[EventEnvelope]:
    """EventEnvelope with `model` as its payload's type, and its type and version fixed to `model`'s."""
    payload: Any = Annotated[model, BeforeValidator(_without_sealed)] if sealed else model
    event_type: Any = Literal[model.event_type]
    event_version: Any = Literal[model.event_version]
    return create_model(
        f"{model.__name__}Envelope",
        __base__=EventEnvelope,
        event_type=(event_type, ...),
        event_version=(event_version, ...),
        payload=(payload, ...),
    )


def _without_sealed(data: Any) -> Any:
    return strip_sealed(data) if isinstance(data, dict) else data


class _WireHeader(BaseModel):
    """The envelope fields that must be right before the payload can even be looked at."""

    model_config = ConfigDict(strict=True)

    event_type: str
    event_version: int
    payload: dict[str, Any]


def parse_wire(raw: bytes | str) -> dict[str, Any]:
    """The JSON object of a wire document; `UnreadableEvent` if it is not one."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise UnreadableEvent(f"message is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise UnreadableEvent("message is not a JSON object")
    return document


def _first_errors(error: ValidationError, limit: int = 3) -> str:
    return "; ".join(
        f"{'.'.join(map(str, item['loc'])) or 'document'}: {item['msg']}" for item in error.errors()[:limit]
    )
