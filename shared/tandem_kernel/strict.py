"""Strict JSON bodies: `"3"` is not 3, `true` is not a job level, `"yes"` is not consent.

FastAPI validates a body in pydantic's lax Python mode, which coerces such values silently, while
the same models must stay lax where the input is text (an imported CSV's cells). A router whose
routes are `StrictJSONRoute`s first validates each JSON body strictly *as JSON* (where a UUID,
a date or an enum still arrive as strings), and answers 422 with every field at fault::

    router = APIRouter(route_class=StrictJSONRoute)

Validators that turn text into values (`"mon"` into 0, say) must return the final type: after
them, strict validation accepts only the real thing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from tandem_kernel.access import authenticate, bearer_token, rule_of

__all__ = ["StrictJSONRoute"]


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class StrictJSONRoute(APIRoute):
    """An `APIRoute` whose JSON body is validated in pydantic's strict mode before FastAPI's own pass."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        annotation = self.body_field.field_info.annotation if self.body_field is not None else None
        if annotation is None:
            return handler
        adapter: TypeAdapter[Any] = TypeAdapter(annotation)

        rule = rule_of(self)
        protected = rule is not None and not rule.public
        # A route whose one body parameter is the whole body (not embedded under its name) can be
        # handed the value validated here: see below. Unknown (another FastAPI): validate twice.
        whole_body = getattr(self, "_embed_body_fields", True) is False

        async def strictly(request: Request) -> Response:
            if protected:  # who is calling comes first: no validation details for a caller with no token
                await authenticate(request, bearer_token(request))
            if _is_json(request) and (raw := await request.body()).strip():
                try:
                    body = adapter.validate_json(raw, strict=True)
                except ValidationError as invalid:
                    errors = [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors(include_url=False)]
                    raise RequestValidationError(errors, body=raw) from None
                if whole_body:
                    # FastAPI would parse the JSON again and validate it a second time, laxly (a
                    # tenth of the enroll route's own CPU). What Starlette's `Request.json()` keeps
                    # is what FastAPI validates: the instance validated strictly passes as it is.
                    request._json = body
            return await handler(request)

        return strictly
