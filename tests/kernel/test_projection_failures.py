"""A projection that fails on one event never stalls in silence: it retries with backoff, says so in
readiness, metrics and logs, and after bounded attempts parks the event as a projection dead letter
and goes on with the rest; an operator replays the letter once the cause is fixed."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import httpx
import pytest
from kernel.conftest import counter_settings
from kernel.counter_service import router
from kernel.events_for_tests import CounterIncremented, registry
from prometheus_client import REGISTRY
from tandem_kernel.api import create_app
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.events import EventEnvelope, NewEvent
from tandem_kernel.projections import Projection, ProjectionRunner, list_parked, replay_parked
from tandem_kernel.runtime import ServiceSpec
from tandem_kernel.store import EventStore
from tandem_kernel.testing import eventually, serving


async def add(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, CounterIncremented)
    await connection.execute(
        "INSERT INTO totals VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + $2",
        envelope.stream_id,
        envelope.payload.by,
    )


# A read model with a rule the events do not know about: a total of 1000 or more cannot be stored.
CAPPED = Projection(
    "capped",
    read_schema="kernel_test_capped",
    ddl="CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL CHECK (total < 1000))",
    handlers={CounterIncremented: add},
)


def increment(by: int) -> list[NewEvent]:
    return [NewEvent(CounterIncremented(by=by, reason="x"))]


async def totals(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT stream_id, total FROM kernel_test_capped.totals")
    return {row["stream_id"]: row["total"] for row in rows}


def sample(name: str, projection: str = "capped") -> float:
    return REGISTRY.get_sample_value(name, {"projection": projection}) or 0.0


async def test_an_event_that_keeps_failing_is_parked_and_the_events_after_it_are_applied(
    store: EventStore, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    runner = ProjectionRunner(CAPPED, store, dsn=database_url, max_attempts=3, retry_seconds=0.01, poll_seconds=0.05)
    await runner.create_tables()
    await store.append("a", 0, increment(1))
    poisoned = await store.append("poison", 0, increment(5000))
    await store.append("b", 0, increment(2))
    failures_before = sample("tandem_projection_failures_total")

    running = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: _has(store.pool, {"a": 1, "b": 2}), timeout=15)
    finally:
        runner.stop()
        await running

    [parked] = await list_parked(store.pool)
    assert (parked.projection, parked.event_id, parked.attempts) == ("capped", poisoned.event_ids[0], 3)
    assert "totals_total_check" in parked.error
    assert sample("tandem_projection_failures_total") == failures_before + 3
    assert sample("tandem_projection_parked_events") == 1
    assert any(
        str(poisoned.event_ids[0]) in record.getMessage() and record.levelno == logging.ERROR
        for record in caplog.records
    )

    # The cause is fixed (the rule was wrong), then the parked event is replayed, once.
    await store.pool.execute("ALTER TABLE kernel_test_capped.totals DROP CONSTRAINT totals_total_check")
    assert await replay_parked(store.pool, [runner]) == {parked.id: "applied"}
    assert await replay_parked(store.pool, [runner]) == {}
    assert await totals(store.pool) == {"a": 1, "b": 2, "poison": 5000}
    assert await list_parked(store.pool) == []


async def _has(pool: asyncpg.Pool, expected: dict[str, int]) -> bool:
    return await totals(pool) == expected


@pytest.mark.broker
async def test_while_a_projection_retries_one_event_the_service_is_not_ready_and_says_why(
    database_url: str, own_broker: DevBroker, identity: DevIdentity, admin_headers: dict[str, str]
) -> None:
    spec = ServiceSpec(name="counters", title="Counters", registry=registry(), routers=[router], projections=[CAPPED])
    settings = counter_settings(
        database_url,
        own_broker.bootstrap_servers,
        identity,
        relay_poll_seconds=0.1,
        projection_max_attempts=1000,  # an operator is looking: it must not park on its own here
    )
    async with (
        serving(create_app(spec, settings)) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers) as http,
    ):
        await eventually(lambda: _ready(http, True))
        first = await http.post("/counters/big/increments", json={"by": 100, "expected_version": 0})
        assert first.status_code == 201
        for version in range(1, 10):  # the tenth increment takes the total to 1000
            await http.post("/counters/big/increments", json={"by": 100, "expected_version": version})

        await eventually(lambda: _ready(http, False))
        readiness = (await http.get("/readyz")).json()
        assert readiness["checks"]["projections"] is False
        [reason] = readiness["problems"]
        assert "capped" in reason and "test.CounterIncremented" in reason and "totals_total_check" in reason
        metrics = (await http.get("/metrics")).text
        assert 'tandem_projection_stalled{projection="capped"} 1.0' in metrics
        assert 'tandem_projection_lag_events{projection="capped"} 1.0' in metrics

        connection = await asyncpg.connect(database_url)
        try:  # the operator fixes the cause: the projection goes on by itself
            await connection.execute("ALTER TABLE kernel_test_capped.totals DROP CONSTRAINT totals_total_check")
        finally:
            await connection.close()
        await eventually(lambda: _ready(http, True))
        assert 'tandem_projection_stalled{projection="capped"} 0.0' in (await http.get("/metrics")).text


async def _ready(http: httpx.AsyncClient, expected: bool) -> bool:
    return bool((await http.get("/readyz")).json()["ready"]) is expected


_TERMINATED: set[str] = set()


async def add_but_lose_the_connection_once(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    # The server ends this very connection mid-batch, once per stream: what an operator's
    # pg_terminate_backend or a failover does (found by chaos).
    if envelope.stream_id not in _TERMINATED:
        _TERMINATED.add(envelope.stream_id)
        await connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    await add(envelope, connection)


FLAKY_CONNECTION = Projection(
    "flaky_connection",
    read_schema="kernel_test_flaky",
    ddl="CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)",
    handlers={CounterIncremented: add_but_lose_the_connection_once},
)


async def test_a_dropped_connection_is_an_interruption_not_a_failing_event(
    store: EventStore, database_url: str
) -> None:
    runner = ProjectionRunner(FLAKY_CONNECTION, store, dsn=database_url, retry_seconds=0.01, poll_seconds=0.05)
    await runner.create_tables()
    await store.append("dropped", 0, increment(3))
    failures_before = sample("tandem_projection_failures_total", "flaky_connection")

    running = asyncio.create_task(runner.run())
    try:

        async def applied() -> bool:
            rows = await store.pool.fetch("SELECT total FROM kernel_test_flaky.totals WHERE stream_id = 'dropped'")
            return [row["total"] for row in rows] == [3]

        await eventually(applied, timeout=15)
    finally:
        runner.stop()
        await running

    assert sample("tandem_projection_failures_total", "flaky_connection") == failures_before  # no event blamed
    assert runner.problem is None
    assert await list_parked(store.pool) == []


def test_a_replica_that_no_longer_leads_a_read_model_leaves_its_problems_to_the_leader(store: EventStore) -> None:
    runner = ProjectionRunner(CAPPED, store, dsn="postgresql://unused")
    runner.problem = "projection capped cannot apply … (attempt 1/5)"

    runner.following()  # another replica holds the lock now

    assert runner.problem is None and not runner.is_leader
