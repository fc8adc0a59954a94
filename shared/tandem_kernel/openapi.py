"""An OpenAPI document that says what the service answers: every error as `application/problem+json`.

Routes declare the errors they can answer with `problems(404, 409)`; `document_problems(app)`
(called by `create_app`) then makes the document true for every route:

- the `Problem` schema (RFC 9457, as `problems.problem` writes it) replaces FastAPI's
  `HTTPValidationError`, and every 4xx answer is documented as problem+json with it;
- 422 is documented wherever there is something to validate (parameters, a body);
- `default` documents what any route may answer besides: 500 (unexpected) and 503 (PostgreSQL or
  the broker not reachable yet, with `Retry-After`);
- every parameter has an example (bodies carry theirs in their models).

    @router.post("/programs/{program_id}/open", responses=problems(404, 409))
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tandem_kernel.problems import PROBLEM_JSON

__all__ = ["PROBLEM_SCHEMA", "document_problems", "problems"]

_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document: how every error is answered.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "The HTTP status."},
        "detail": {"type": "string", "description": "What went wrong, for a person to read."},
        "code": {"type": "string", "description": "A stable reason for programs: not-found, invalid-transition…"},
        "errors": {
            "type": "array",
            "description": "Each field at fault (422).",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": ["string", "null"], "description": "A dotted path: `availability.0.end`."},
                    "location": {"type": ["string", "null"], "description": "body, query, path or header."},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "examples": [
        {
            "type": "https://tandem.example/problems/invalid-request",
            "title": "Invalid request",
            "status": 422,
            "detail": "job_level: Input should be a valid integer",
            "errors": [{"field": "job_level", "location": "body", "message": "Input should be a valid integer"}],
        }
    ],
}

_MEANINGS = {
    400: "The request could not be read (a malformed upload)",
    404: "No such resource (an unknown id)",
    409: "Not allowed in the current state (code `invalid-transition`), or a concurrent change",
    413: "The upload is too large",
    415: "The upload's media type is not one this operation reads",
    422: "Invalid input: `errors` names each field at fault",
}


def problems(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that may answer `statuses` (problem+json); `described` overrides
    a status's description: `problems(404, 409, s409="Already enrolled")`."""
    return {
        status: {
            "description": described.get(f"s{status}", _MEANINGS.get(status, "An error")),
            "content": {PROBLEM_JSON: {"schema": _REF}},
        }
        for status in statuses
    }


_EXAMPLES = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "date-time": "2026-03-02T09:30:00Z",
    "date": "2026-03-02",
}


def _example(schema: dict[str, Any]) -> Any:
    """A value valid under a parameter's schema (its first enum value, a bound, or a plain one)."""
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _example(option)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return _EXAMPLES.get(schema.get("format", ""), "E01001")


def _document(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if (operation.get("parameters") or operation.get("requestBody")) and "422" not in responses:
        responses["422"] = {"description": _MEANINGS[422]}
    for status, response in responses.items():
        if status.startswith("4"):
            response["content"] = {PROBLEM_JSON: {"schema": _REF}}
    responses["default"] = {
        "description": "An unexpected error (500), or PostgreSQL or the broker not reachable yet (503, with "
        "Retry-After)",
        "content": {PROBLEM_JSON: {"schema": _REF}},
    }
    for parameter in operation.get("parameters", []):
        if "example" not in parameter and "examples" not in parameter:
            parameter["example"] = _example(parameter.get("schema", {}))


def document_problems(app: FastAPI) -> None:
    """Make `app`'s OpenAPI document say how it answers errors (see the module's docstring)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            schemas["Problem"] = PROBLEM_SCHEMA
            for path in document.get("paths", {}).values():
                for operation in path.values():
                    _document(operation)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
