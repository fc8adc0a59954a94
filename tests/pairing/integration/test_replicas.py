"""Two replicas of pairing on one database and broker: a round outlives the replica running it."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
import pytest_asyncio
from pairing.integration.enrollment_feed import REGISTRY, EnrollmentFeed
from tandem_kernel.consumers import MessageProcessor
from tandem_kernel.database import create_pool
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.published import Publisher
from tandem_kernel.store import EventStore
from tandem_kernel.testing import ServiceProcess, TokenBook, eventually, fresh_database
from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.application import enrollment_subscription
from tandem_pairing.entrypoints.app import registry

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker, pytest.mark.slow]


class Cluster:
    def __init__(
        self, replicas: list[ServiceProcess], pool: asyncpg.Pool, feed: EnrollmentFeed, hr: dict[str, str]
    ) -> None:
        self.replicas, self.pool, self.feed, self.hr = replicas, pool, feed, hr

    def by_owner(self, owner: str) -> ServiceProcess:
        [replica] = [r for r in self.replicas if owner.endswith(f":{r.pid}")]
        return replica

    async def round_job_owner(self, round_id: str) -> str:
        owner: list[str] = []

        async def claimed() -> bool:
            found = await self.pool.fetchval(
                "SELECT owner FROM jobs WHERE kind = 'pairing.round' AND payload->>'round_id' = $1"
                " AND state = 'running'",
                round_id,
            )
            owner[:] = [found] if found else []
            return bool(found)

        await eventually(claimed, timeout=15)
        return owner[0]


async def _no_dead_letters(*args: object) -> None:
    raise AssertionError(f"nothing here should be dead-lettered: {args}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory, identity: DevIdentity, tokens: TokenBook
) -> AsyncIterator[Cluster]:
    logs: Path = tmp_path_factory.mktemp("replicas")
    with DevBroker() as broker:
        async with fresh_database("tandem_pairing_replicas") as database_url:
            replicas = [
                ServiceProcess(
                    "pairing",
                    database_url,
                    broker.bootstrap_servers,
                    log_dir=logs,
                    **broker.service_environment(),
                    JOB_LEASE_SECONDS="2",
                    OIDC_ISSUER=identity.issuer,
                    OIDC_AUDIENCE=identity.audience,
                )
                for _ in range(3)
            ]
            for replica in replicas:
                replica.start()
            try:
                for replica in replicas:
                    await replica.ready()
                pool = await create_pool(database_url, "pairing")
                store = EventStore(pool, schema="pairing", registry=registry())
                producer = await Publisher.start(database_url, "enrollment", REGISTRY)
                feed = EnrollmentFeed(
                    MessageProcessor(enrollment_subscription(store), pool, _no_dead_letters), producer
                )
                try:
                    yield Cluster(replicas, pool, feed, await tokens.headers("hr-admin"))
                finally:
                    await producer.close()
                    await pool.close()
            finally:
                for replica in replicas:
                    replica.kill()


async def round_on(replica: ServiceProcess, round_id: str, hr: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=replica.url, headers=hr) as http:
        body: dict[str, Any] = (await http.get(f"/rounds/{round_id}")).json()
        return body


async def _completed(replica: ServiceProcess, round_id: str, hr: dict[str, str]) -> bool:
    return (await round_on(replica, round_id, hr))["status"] == "completed"


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_a_round_whose_replica_stops_mid_round_is_finished_by_another_exactly_once(
    cluster: Cluster, how: str
) -> None:
    program_id = await cluster.feed.program()
    await cluster.feed.participant(program_id, "junior")
    await cluster.feed.participant(program_id, "senior")
    live = [replica for replica in cluster.replicas if replica.process and replica.process.poll() is None]

    async with cluster.pool.acquire() as holder, holder.transaction():
        # The program's lock keeps whichever replica runs the round from finishing it, for now.
        await pool_table.lock_program(holder, program_id)
        async with httpx.AsyncClient(base_url=live[0].url, headers=cluster.hr) as http:
            requested = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"})
        assert requested.status_code == 202, requested.text
        round_id = requested.json()["round_id"]
        running = cluster.by_owner(await cluster.round_job_owner(round_id))
        running.kill(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
        assert running.process is not None
    running.process.wait(timeout=30)

    survivor = next(replica for replica in live if replica is not running)
    await eventually(lambda: _completed(survivor, round_id, cluster.hr), timeout=30)
    completed = await round_on(survivor, round_id, cluster.hr)
    assert completed["matched"] == 1 and len(completed["proposals"]) == 1
    events = await cluster.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version", f"round-{UUID(round_id)}"
    )
    assert [row["event_type"] for row in events] == ["pairing.PairingRoundStarted", "pairing.PairingRoundCompleted"]
    assert (
        await cluster.pool.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'pairing.PairProposed' AND payload->>'round_id' = $1",
            round_id,
        )
        == 1
    )
