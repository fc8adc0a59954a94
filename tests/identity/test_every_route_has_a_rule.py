"""Every route of every installed service declares who may call it, next to its definition; and the
OpenAPI documents say so, with the bearer scheme the docs' Authorize button uses."""

from __future__ import annotations

import pytest
from tandem_kernel.access import rules_by_route
from tandem_kernel.api import create_app
from tandem_kernel.cli import services
from tandem_kernel.settings import ServiceSettings

SERVICES = sorted(services())
PROBES = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
# Calendar apps (Outlook, Google Calendar) subscribe to a URL and send no token: the URL is the secret.
SECRET_URLS = {("GET", "/calendars/{token}")}


@pytest.mark.parametrize("name", SERVICES)
def test_every_route_declares_who_may_call_it(name: str) -> None:
    app = create_app(services()[name], ServiceSettings(service_name=name))

    rules = rules_by_route(app)

    assert len(rules) > len(PROBES)
    assert [f"{method} {path}" for (method, path), rule in rules.items() if rule is None] == []
    public = {route for route, rule in rules.items() if rule is not None and rule.public}
    assert public >= PROBES  # open for probes and Prometheus
    docs = {("GET", "/"), ("GET", "/docs"), ("GET", "/redoc")}
    assert public <= PROBES | docs | SECRET_URLS, "only probes, docs and secret calendar URLs are open"


@pytest.mark.parametrize("name", SERVICES)
def test_the_openapi_document_says_who_may_call_each_operation(name: str) -> None:
    app = create_app(services()[name], ServiceSettings(service_name=name))
    document = app.openapi()

    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for (method, path), rule in rules_by_route(app).items():
        operation = document["paths"].get(path, {}).get(method.lower())
        if operation is None:  # not in the document (the docs pages themselves)
            continue
        assert "**Who may call:**" in operation["description"], (method, path)
        if rule is not None and not rule.public:
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
