"""A service booted by the kernel's runtime, through real HTTP, PostgreSQL and the broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from kernel.conftest import counter_settings
from kernel.counter_service import service
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families
from tandem_kernel.api import create_app
from tandem_kernel.devbroker import DevBroker, free_port
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.telemetry import add_span_processor
from tandem_kernel.testing import eventually, serving

pytestmark = pytest.mark.broker


@pytest.fixture
def settings(identity: DevIdentity) -> Callable[[str, str], ServiceSettings]:
    return lambda database_url, bootstrap: counter_settings(database_url, bootstrap, identity)


async def consumed_count(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        exists = await connection.fetchval("SELECT to_regclass('counters.consumed') IS NOT NULL")
        return await connection.fetchval("SELECT count(*) FROM counters.consumed") if exists else 0
    finally:
        await connection.close()


async def test_one_trace_spans_http_append_relay_consume_and_a_projection_serves_reads(
    database_url: str, own_broker: DevBroker, settings: Any, admin_headers: dict[str, str]
) -> None:
    spans = InMemorySpanExporter()
    add_span_processor(SimpleSpanProcessor(spans))
    app = create_app(service, settings(database_url, own_broker.bootstrap_servers))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, headers=admin_headers) as http:
        await eventually(lambda: _ready(http))
        created = await http.post("/counters/c1/increments", json={"by": 3, "expected_version": 0})
        assert created.status_code == 201, created.text

        await eventually(lambda: _total(http, "c1", 3))
        await eventually(lambda: _consumed(database_url, 1))

        await eventually(lambda: _metric(http, "tandem_relay_lag_events", {"topic": "tandem.counters.v1"}, 0))
        samples = await _samples(http)
        # What happened shows in the numbers (not only in their names): one event appended,
        # published, consumed; the relay has nothing left to publish.
        assert samples[("tandem_events_appended_total", (("schema", "counters"),))] >= 1
        assert samples[("tandem_events_published_total", (("topic", "tandem.counters.v1"),))] >= 1
        handled = (("consumer", "counters.echo"), ("outcome", "handled"))
        assert samples[("tandem_handler_seconds_count", handled)] >= 1
        assert samples[("tandem_relay_lag_seconds", (("topic", "tandem.counters.v1"),))] == 0

    connection = await asyncpg.connect(database_url)
    consumer_trace = await connection.fetchval("SELECT trace_id FROM counters.consumed")
    await connection.close()
    http_spans = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    # One span for the request (not also FastAPI's own), named after its route; the probes and the
    # scrape the test polled make none.
    [request_span] = [s for s in http_spans if s.name.startswith("POST")]
    assert not [s for s in http_spans if s.name.startswith(("GET /readyz", "GET /metrics"))]
    assert request_span.name == "POST /counters/{counter_id}/increments"
    assert request_span.attributes is not None
    assert request_span.attributes["http.route"] == "/counters/{counter_id}/increments"
    assert request_span.attributes["http.response.status_code"] == 201
    assert format(request_span.context.trace_id, "032x") == consumer_trace


async def test_conflicts_and_bad_input_are_problem_documents(
    database_url: str, own_broker: DevBroker, settings: Any, admin_headers: dict[str, str]
) -> None:
    app = create_app(service, settings(database_url, own_broker.bootstrap_servers))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, headers=admin_headers) as http:
        await eventually(lambda: _ready(http))
        await http.post("/counters/c1/increments", json={"by": 1, "expected_version": 0})

        conflict = await http.post("/counters/c1/increments", json={"by": 1, "expected_version": 0})
        invalid = await http.post("/counters/c1/increments", json={"by": 0, "expected_version": 0})
        garbage = await http.post("/counters/c1/increments", content=b"{", headers={"content-type": "application/json"})
        first = await http.post(
            "/counters/c2/increments", json={"by": 1, "expected_version": 0}, headers={"Idempotency-Key": "k1"}
        )
        retry = await http.post(
            "/counters/c2/increments", json={"by": 1, "expected_version": 0}, headers={"Idempotency-Key": "k1"}
        )

    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert conflict.json()["code"] == "concurrency-conflict"
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "by"
    assert garbage.status_code == 422
    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json() == {"version": 1}


@pytest.mark.slow
async def test_a_service_started_without_its_broker_serves_not_ready_then_recovers(
    database_url: str, settings: Any, admin_headers: dict[str, str]
) -> None:
    port = free_port()
    app = create_app(service, settings(database_url, f"127.0.0.1:{port}"))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, headers=admin_headers) as http:
        assert (await http.get("/healthz")).status_code == 200
        await eventually(lambda: _can_append(http, "early"))
        not_ready = await http.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["broker"] is False

        with DevBroker(port=port):
            await eventually(lambda: _ready(http), timeout=40)
            await eventually(lambda: _consumed(database_url, 1), timeout=30)


@pytest.mark.slow
async def test_a_service_reconnects_when_postgresql_drops_its_connections(
    database_url: str, own_broker: DevBroker, settings: Any, admin_headers: dict[str, str]
) -> None:
    app = create_app(service, settings(database_url, own_broker.bootstrap_servers))
    async with serving(app) as base, httpx.AsyncClient(base_url=base, headers=admin_headers) as http:
        await eventually(lambda: _ready(http))
        await http.post("/counters/c1/increments", json={"by": 1, "expected_version": 0})
        await eventually(lambda: _consumed(database_url, 1))

        await _terminate_connections(database_url)  # what a PostgreSQL restart looks like to a client

        await eventually(lambda: _can_append(http, "after-restart"))
        await eventually(lambda: _consumed(database_url, 2))
        await eventually(lambda: _total(http, "after-restart", 1))
        await eventually(lambda: _ready(http))


async def _terminate_connections(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    try:
        killed = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", name
        )
        assert killed > 0
    finally:
        await connection.close()


async def _samples(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (await http.get("/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _metric(http: httpx.AsyncClient, name: str, labels: dict[str, str], expected: float) -> bool:
    return (await _samples(http)).get((name, tuple(sorted(labels.items())))) == expected


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def _can_append(http: httpx.AsyncClient, counter: str) -> bool:
    response = await http.post(f"/counters/{counter}/increments", json={"by": 1, "expected_version": 0})
    return response.status_code in (201, 409)


async def _total(http: httpx.AsyncClient, counter: str, expected: int) -> bool:
    return (await http.get(f"/counters/{counter}")).json()["total"] == expected


async def _consumed(database_url: str, expected: int) -> bool:
    return await consumed_count(database_url) >= expected


@pytest.mark.slow
async def test_a_shutdown_mid_stream_loses_nothing_applies_nothing_twice_and_logs_no_error(
    database_url: str,
    own_broker: DevBroker,
    caplog: pytest.LogCaptureFixture,
    settings: Any,
    admin_headers: dict[str, str],
) -> None:
    from kernel.events_for_tests import CounterIncremented, registry
    from tandem_kernel.database import create_pool
    from tandem_kernel.events import NewEvent
    from tandem_kernel.store import EventStore

    async with serving(create_app(service, settings(database_url, own_broker.bootstrap_servers))) as base:
        async with httpx.AsyncClient(base_url=base, headers=admin_headers) as http:
            await eventually(lambda: _ready(http))
        pool = await create_pool(database_url, "counters")
        store = EventStore(pool, schema="counters", registry=registry())
        await asyncio.gather(
            *(store.append(f"burst-{n}", 0, [NewEvent(CounterIncremented(by=1, reason="x"))]) for n in range(300))
        )
        # Leaving the block is what SIGTERM does: uvicorn runs the lifespan shutdown to its end.
    # The relay drained before the broker connection closed: no ProducerClosed, no traceback.
    stopping = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert not [record.getMessage() for record in stopping if record.exc_info or "Closed" in record.getMessage()]

    async with serving(create_app(service, settings(database_url, own_broker.bootstrap_servers))) as base:
        await eventually(lambda: _consumed(database_url, 300), timeout=60)
        total = await pool.fetchval("SELECT sum(total) FROM counters_read.totals")
    await pool.close()
    assert await consumed_count(database_url) == 300
    assert total == 300


async def test_a_background_loop_that_ends_while_the_service_runs_says_so(caplog: pytest.LogCaptureFixture) -> None:
    from prometheus_client import REGISTRY
    from tandem_kernel.runtime import Runtime

    runtime = Runtime(service, ServiceSettings(service_name="counter"))
    before = REGISTRY.get_sample_value("tandem_background_stops_total", {"task": "probe-loop"}) or 0

    async def loop_that_breaks() -> None:
        raise RuntimeError("a bug in the loop")

    with caplog.at_level(logging.CRITICAL, logger="tandem.runtime"):
        runtime._background(loop_that_breaks(), "probe-loop")
        await asyncio.sleep(0.05)

    assert REGISTRY.get_sample_value("tandem_background_stops_total", {"task": "probe-loop"}) == before + 1
    [record] = [r for r in caplog.records if "probe-loop stopped while the service runs" in r.getMessage()]
    assert "a bug in the loop" in record.getMessage()
