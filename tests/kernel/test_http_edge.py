"""What reaches a service over HTTP is checked at the edge, and no error tears a connection down."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from kernel.conftest import counter_settings
from kernel.counter_service import service
from tandem_kernel.api import create_app
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.testing import eventually, serving

pytestmark = pytest.mark.broker


@pytest.fixture
async def http(database_url: str, own_broker: DevBroker, identity: DevIdentity, admin_headers: dict[str, str]):  # type: ignore[no-untyped-def]
    settings = counter_settings(database_url, own_broker.bootstrap_servers, identity)
    async with (
        serving(create_app(service, settings)) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers) as client,
    ):
        await eventually(lambda: _ready(client))
        yield client


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def test_a_nul_character_anywhere_in_a_json_body_is_a_422_naming_the_field(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/counters/c1/increments", json={"by": 1, "expected_version": 0, "reason": "before\x00after"}
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "reason", "location": "body", "message": "contains a NUL character"}]
    assert (await http.get("/counters/c1")).json() == {"total": 0}


async def test_a_nul_character_in_a_query_or_path_is_a_422(http: httpx.AsyncClient) -> None:
    query = await http.get("/counters/c1", params={"label": "a\x00b"})
    path = await http.get("/counters/c%001")

    assert query.status_code == 422 and query.json()["errors"][0]["field"] == "label"
    assert path.status_code == 422 and path.json()["errors"][0]["location"] == "path"


async def test_an_escaped_backslash_before_u0000_is_not_a_nul(http: httpx.AsyncClient) -> None:
    body = b'{"by": 1, "expected_version": 0, "reason": "a literal \\\\u0000"}'
    response = await http.post("/counters/c9/increments", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 201, response.text


async def test_an_unexpected_error_is_a_problem_document_and_the_connection_stays_usable(
    http: httpx.AsyncClient,
) -> None:
    pool = http._transport._pool  # type: ignore[attr-defined]
    [connection] = pool.connections

    defect = await http.get("/counters/c1/defect")
    after = await http.get("/counters/c1")

    assert defect.status_code == 500
    assert defect.headers["content-type"] == "application/problem+json"
    assert "a defect" not in defect.text  # the detail stays in the log
    assert after.status_code == 200
    assert pool.connections == [connection]  # the same keep-alive connection served both


async def test_an_idle_connection_outlives_the_time_a_client_keeps_it_in_its_pool(http: httpx.AsyncClient) -> None:
    # The server closing an idle connection while the client sends on it loses the request: the
    # server keeps it longer than clients do (httpx: 5 s), so the client always retires it first.
    client = httpx.AsyncClient(
        base_url=str(http.base_url), headers=http.headers, limits=httpx.Limits(keepalive_expiry=30)
    )
    async with client:
        pool = client._transport._pool  # type: ignore[attr-defined]
        assert (await client.get("/counters/c1")).status_code == 200
        [connection] = pool.connections

        await asyncio.sleep(6)  # idle past uvicorn's default keep-alive (5 s)
        after = await client.get("/counters/c1")

        assert after.status_code == 200
        assert pool.connections == [connection]  # still open: the server did not close it


# The slow read's backend, in the test's database.
SLOW_READ = (
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND query LIKE '%FROM pg_sleep(30)%'"
)


async def test_a_database_connection_lost_mid_request_is_a_503_to_retry_not_a_500(
    http: httpx.AsyncClient, database_url: str
) -> None:
    reading = asyncio.create_task(http.get("/counters/c1/slowly", timeout=60))
    admin = await asyncpg.connect(database_url)
    try:

        async def sleeping() -> bool:
            return bool(await admin.fetchval(f"SELECT count(*) {SLOW_READ}"))

        await eventually(sleeping)
        await admin.execute(f"SELECT pg_terminate_backend(pid) {SLOW_READ}")  # what a PostgreSQL restart does
    finally:
        await admin.close()
    response = await reading

    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "2"
    assert (await http.get("/counters/c1")).status_code == 200  # the pool reconnects: the retry succeeds


async def test_a_process_with_as_many_requests_as_it_takes_answers_the_next_503_at_once_and_stays_ready(
    database_url: str, own_broker: DevBroker, identity: DevIdentity, admin_headers: dict[str, str]
) -> None:
    settings = counter_settings(database_url, own_broker.bootstrap_servers, identity, http_max_in_flight=2)
    async with (
        serving(create_app(service, settings)) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers, timeout=60) as http,
    ):
        await eventually(lambda: _ready(http))
        shed_before = await _shed_count(http)
        slow = [asyncio.create_task(http.get(f"/counters/c{n}/slowly")) for n in (1, 2)]
        admin = await asyncpg.connect(database_url)
        try:
            await eventually(lambda: _sleeping(admin, 2))

            refused = await http.get("/counters/c1")
            probes = [(await http.get(path)).status_code for path in ("/healthz", "/readyz", "/metrics")]
            shed = await _shed_count(http) - shed_before

            await admin.execute(f"SELECT pg_terminate_backend(pid) {SLOW_READ}")
        finally:
            await admin.close()
        await asyncio.gather(*slow)
        after = await http.get("/counters/c1")

    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["type"] == "https://tandem.example/problems/overloaded"
    assert probes == [200, 200, 200]  # busy is not dead: the probes and the scrape are always answered
    assert shed == 1
    assert after.status_code == 200  # room again once the two are answered


async def _sleeping(admin: asyncpg.Connection, count: int) -> bool:
    return bool(await admin.fetchval(f"SELECT count(*) {SLOW_READ}") == count)


async def _shed_count(http: httpx.AsyncClient) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith("tandem_http_shed_total "):
            return float(line.split()[1])
    return 0.0
