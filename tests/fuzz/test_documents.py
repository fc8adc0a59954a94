"""What a newcomer opens first: `/` says what the service is, `/docs` works on a network with no
internet, and the OpenAPI document describes every answer truthfully."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fuzz.conftest import SERVICES, Platform

pytestmark = pytest.mark.broker

METHODS = ("get", "post", "put", "patch", "delete")


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_the_root_says_what_the_service_is_with_absolute_links(platform: Platform, service: str) -> None:
    url = platform.urls[service]

    index = httpx.get(f"{url}/").json()

    assert index["name"] == service and re.fullmatch(r"\d+\.\d+\.\d+", index["version"])
    assert (index["docs"], index["openapi"], index["health"]) == (f"{url}/docs", f"{url}/openapi.json", f"{url}/readyz")
    assert httpx.get(index["openapi"]).status_code == httpx.get(index["health"]).status_code == 200


@pytest.mark.parametrize(("service", "page"), [(s, p) for s in SERVICES for p in ("/docs", "/redoc")])
def test_the_docs_load_every_asset_from_the_service_itself(platform: Platform, service: str, page: str) -> None:
    url = platform.urls[service]

    html = httpx.get(f"{url}{page}").text

    referenced = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    referenced += re.findall(r"""url:\s*['"]([^'"]+)['"]""", html)
    assert referenced, html
    for reference in referenced:
        assert reference.startswith("/") and not reference.startswith("//"), f"{page} loads {reference} from elsewhere"
        assert httpx.get(f"{url}{reference}").status_code == 200, reference
    assert "fonts.googleapis" not in html and "cdn." not in html


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_describes_every_answer(platform: Platform, service: str) -> None:
    document = httpx.get(f"{platform.urls[service]}/openapi.json").json()
    schemas = document["components"]["schemas"]

    assert "HTTPValidationError" not in schemas and "Problem" in schemas
    for method, path, operation in operations(document):
        where = f"{method} {path}"
        assert operation.get("description"), f"{where} has no description"
        responses = operation["responses"]
        assert "default" in responses, where
        for status, response in responses.items():
            if where == "GET /readyz" and status == "503":
                continue  # not ready is an answer, not an error: the checks, as application/json
            if status.startswith(("4", "5")) or status == "default":
                assert list(response["content"]) == ["application/problem+json"], (where, status)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in responses, where
        has_example = any("example" in p or "examples" in p for p in operation.get("parameters", []))
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" in body:
            body = schemas[body["$ref"].rsplit("/", 1)[-1]]
        assert has_example or body.get("examples") or not (operation.get("parameters") or body), where
    if service == "enrollment":
        weekday = schemas["AvailabilityWindow-Input"]["properties"]["weekday"]
        assert (weekday["minimum"], weekday["maximum"]) == (0, 6) and "ge" not in weekday and "le" not in weekday


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_has_an_example_that_the_service_accepts_as_valid(platform: Platform, service: str) -> None:
    document = httpx.get(f"{platform.urls[service]}/openapi.json").json()
    schemas = document["components"]["schemas"]

    for method, path, operation in operations(document):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        ref = body["schema"].get("$ref") or next(
            (option["$ref"] for option in body["schema"].get("anyOf", []) if "$ref" in option), None
        )
        assert ref is not None, f"{method} {path}"
        assert schemas[ref.rsplit("/", 1)[-1]].get("examples"), f"{method} {path} has no example body"
