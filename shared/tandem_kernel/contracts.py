"""Event contracts: what a service publishes, as JSON Schema and AsyncAPI, and whether a change to
it is safe for the consumers of what was published before.

    contracts = EventContracts.of(registry, service="enrollment", topic="tandem.enrollment.v1")
    contracts.write(Path("services/enrollment/contracts"))   # events.schema.json, asyncapi.json
    problems = incompatibilities(published=json.loads(checked_in), current=contracts.events)

The schemas describe the payload as it travels: a `Personal[...]` field is a sealed marker or null
(see `privacy`). An event type and version, once published, may only change so that both its stored
history and its consumers still read it: no property removed, retyped or widened, no new required
property, no new enum value. Anything else needs a new version of the event (and an upcaster).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic.json_schema import models_json_schema

from tandem_kernel.events import DomainEvent, EventEnvelope, EventRegistry
from tandem_kernel.privacy import SEALED, personal_fields
from tandem_kernel.settings import service_topic

if TYPE_CHECKING:
    from tandem_kernel.runtime import ServiceSpec

__all__ = ["EventContracts", "incompatibilities"]

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
_SEALED_VALUE = {
    "type": "object",
    "description": "A personal field sealed with its data subject's key; unreadable once they are erased.",
    "properties": {SEALED: {"type": "string", "contentEncoding": "base64"}},
    "required": [SEALED],
    "additionalProperties": False,
}


def _schemas(models: list[type[DomainEvent]], ref_prefix: str) -> dict[str, Any]:
    """Every model's schema and their shared definitions, personal fields in their wire form."""
    _, document = models_json_schema([(model, "validation") for model in models], ref_template=ref_prefix + "{model}")
    definitions: dict[str, Any] = document.get("$defs", {})
    for model in models:
        schema = definitions[model.__name__]
        schema["x-event-type"], schema["x-event-version"] = model.event_type, model.event_version
        for name in sorted(personal_fields(model)):
            schema["properties"][name] = {
                "anyOf": [{"$ref": f"{ref_prefix}SealedValue"}, {"type": "null"}],
                "default": None,
                "x-personal": True,
            }
        if personal_fields(model):
            definitions["SealedValue"] = _SEALED_VALUE
    return definitions


@dataclass(frozen=True)
class EventContracts:
    """A service's published contracts: `events` (JSON Schema) and `asyncapi` (AsyncAPI 3.0)."""

    events: dict[str, Any]
    asyncapi: dict[str, Any]

    @classmethod
    def of(cls, registry: EventRegistry, *, service: str, topic: str) -> EventContracts:
        models = sorted(registry.models(), key=lambda model: model.event_type)
        definitions = _schemas(models, "#/$defs/")
        events = {
            "$schema": JSON_SCHEMA,
            "$id": f"urn:tandem:{service}:events",
            "title": f"Events published by {service} on {topic}",
            "description": "The `payload` of each message. Event types and versions are in x-event-type and "
            "x-event-version; a published version only changes compatibly.",
            "oneOf": [{"$ref": f"#/$defs/{model.__name__}"} for model in models],
            "$defs": definitions,
        }
        return cls(events, _asyncapi(models, service=service, topic=topic))

    @classmethod
    def of_service(cls, spec: ServiceSpec) -> EventContracts:
        """The contracts of what `spec`'s service publishes on its topic."""
        return cls.of(spec.registry, service=spec.name, topic=service_topic(spec.name))

    def is_current(self, directory: Path) -> bool:
        """Whether the documents checked in under `directory` are exactly these."""
        try:
            on_disk = [json.loads((directory / name).read_text()) for name in ("events.schema.json", "asyncapi.json")]
        except FileNotFoundError:
            return False
        return on_disk == [self.events, self.asyncapi]

    def write(self, directory: Path) -> list[Path]:
        """Write `events.schema.json` and `asyncapi.json` into `directory`; returns their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, document in (("events.schema.json", self.events), ("asyncapi.json", self.asyncapi)):
            path = directory / name
            path.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
            written.append(path)
        return written


def _envelope(model: type[DomainEvent], ref: str) -> dict[str, Any]:
    # The wire document is the envelope without its store-local transaction id (see events.py).
    schema = EventEnvelope.model_json_schema(mode="serialization")
    schema.pop("$defs", None)
    properties = schema["properties"]
    del properties["transaction_id"]
    properties["event_type"] = {"const": model.event_type}
    properties["event_version"] = {"const": model.event_version}
    properties["payload"] = {"$ref": ref}
    schema["title"] = f"{model.event_type} v{model.event_version}"
    return schema


def _headers(model: type[DomainEvent], service: str) -> dict[str, Any]:
    """CloudEvents Kafka binding headers (binary mode), as the relay sets them."""
    text = {"type": "string"}
    return {
        "type": "object",
        "properties": {
            "ce_specversion": {"const": "1.0"},
            "ce_id": {"type": "string", "format": "uuid", "description": "the event id"},
            "ce_type": {"const": model.event_type},
            "ce_source": {"const": f"/tandem/{service}"},
            "ce_time": {"type": "string", "format": "date-time"},
            "ce_subject": {**text, "description": "the stream id, also the message key"},
            "content-type": {"const": "application/json"},
            "traceparent": {**text, "description": "W3C trace context"},
        },
        "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject"],
    }


def _asyncapi(models: list[type[DomainEvent]], *, service: str, topic: str) -> dict[str, Any]:
    schemas = _schemas(models, "#/components/schemas/")
    messages = {
        model.__name__: {
            "name": model.event_type,
            "title": f"{model.event_type} v{model.event_version}",
            "summary": (model.__doc__ or model.event_type).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": _headers(model, service),
            "payload": _envelope(model, f"#/components/schemas/{model.__name__}"),
            "bindings": {
                "kafka": {"key": {"type": "string", "description": "the stream id"}, "bindingVersion": "0.5.0"}
            },
        }
        for model in models
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Tandem {service} events",
            "version": "1.0.0",
            "description": f"Every event {service} records, published at least once on {topic} by its outbox "
            "relay, keyed by stream id (one stream's events stay in order). Consumers deduplicate by event id.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "events": {
                "address": topic,
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
            }
        },
        "operations": {
            "publishEvents": {
                "action": "send",
                "channel": {"$ref": "#/channels/events"},
                "messages": [{"$ref": f"#/channels/events/messages/{name}"} for name in messages],
            }
        },
        "components": {"messages": messages, "schemas": schemas},
    }


# -- compatibility ----------------------------------------------------------------------------

_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems")
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems")


def incompatibilities(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """How `current` would break readers of `published` (both `EventContracts.events` documents).

    Compared per event type and version present in both: removed, retyped or widened properties,
    new required properties, new enum values. A version that disappeared is fine only if a newer
    version of its type is published. An empty list means compatible.
    """
    old_events, new_events = _events(published), _events(current)
    newest: dict[str, int] = {}
    for event_type, version in new_events:
        newest[event_type] = max(version, newest.get(event_type, 0))
    problems: list[str] = []
    for (event_type, version), old in sorted(old_events.items()):
        new = new_events.get((event_type, version))
        if new is not None:
            problems += _Comparison(published, current).schema(old, new, f"{event_type} v{version}")
        elif newest.get(event_type, 0) <= version:
            problems.append(f"{event_type} v{version}: no longer published, and no newer version is")
    return problems


def _events(document: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (schema["x-event-type"], schema["x-event-version"]): schema
        for schema in document.get("$defs", {}).values()
        if "x-event-type" in schema
    }


@dataclass(frozen=True)
class _Comparison:
    old_document: dict[str, Any]
    new_document: dict[str, Any]

    def schema(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
        """Problems if a value valid under `new` may be invalid under `old`."""
        old_branches, new_branches = self._branches(old, self.old_document), self._branches(new, self.new_document)
        problems = []
        for branch in new_branches:
            kind = _kind(branch)
            match = next((b for b in old_branches if _admits(_kind(b), kind)), None)
            if match is None:
                was = " or ".join(sorted({_kind(b) for b in old_branches}))
                problems.append(f"{path}: retyped, now {kind}, was {was}")
            else:
                problems += self._same_kind(match, branch, path)
        return problems

    def _same_kind(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
        problems = [
            f"{path}: {key} widened" for key in _UPPER_BOUNDS if key in old and new.get(key, float("inf")) > old[key]
        ]
        problems += [
            f"{path}: {key} widened" for key in _LOWER_BOUNDS if key in old and new.get(key, float("-inf")) < old[key]
        ]
        if "pattern" in old and new.get("pattern") != old["pattern"]:
            problems.append(f"{path}: pattern changed")
        if "format" in old and new.get("format") != old["format"]:
            problems.append(f"{path}: format changed from {old['format']} to {new.get('format')}")
        added = sorted(set(map(json.dumps, _enum(new))) - set(map(json.dumps, _enum(old)))) if _enum(old) else []
        if added:
            problems.append(f"{path}: new values {', '.join(added)}")
        if "items" in old and "items" in new:
            problems += self.schema(old["items"], new["items"], f"{path}[]")
        if "properties" in old or "properties" in new:
            problems += self._properties(old, new, path)
        return problems

    def _properties(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
        old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        problems = [f"{path}.{name}: removed" for name in old_properties if name not in new_properties]
        for name, schema in new_properties.items():
            if name not in old_properties:
                if name in new_required:
                    problems.append(f"{path}.{name}: added as required (stored events lack it; give it a default)")
                continue
            if name in new_required - old_required:
                problems.append(f"{path}.{name}: now required")
            problems += self.schema(old_properties[name], schema, f"{path}.{name}")
        return problems

    def _branches(self, schema: dict[str, Any], document: dict[str, Any]) -> list[dict[str, Any]]:
        """The alternatives a schema admits, references resolved, one JSON type each."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return self._branches(
                {**document["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}, document
            )
        for combinator in ("anyOf", "oneOf"):
            if combinator in schema:
                return [branch for option in schema[combinator] for branch in self._branches(option, document)]
        if isinstance(schema.get("type"), list):
            return [{**schema, "type": kind} for kind in schema["type"]]
        return [schema]


def _admits(old_kind: str, new_kind: str) -> bool:
    return old_kind in (new_kind, "any") or (old_kind, new_kind) == ("number", "integer")


def _enum(schema: dict[str, Any]) -> list[Any]:
    return [schema["const"]] if "const" in schema else list(schema.get("enum", []))


def _kind(schema: dict[str, Any]) -> str:
    """The JSON type a branch admits (inferred from `const`/`enum` when it names none)."""
    if "type" in schema:
        return str(schema["type"])
    values = _enum(schema)
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    return names.get(type(values[0]), "object") if values else "any"
