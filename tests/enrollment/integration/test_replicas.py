"""Two replicas of enrollment on one database and broker: an import outlives the replica running it."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, as_csv, sample_people
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.testing import ServiceProcess, TokenBook, eventually

pytestmark = [pytest.mark.broker, pytest.mark.slow]

ROWS = 8000


async def import_of(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await http.get(f"/imports/{job_id}", params={"report_limit": 0})).json()
    return body


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
async def test_an_import_whose_replica_stops_is_resumed_by_another_and_enrolls_everyone_once(
    database_url: str, own_broker: DevBroker, tmp_path: Path, how: str, identity: DevIdentity, tokens: TokenBook
) -> None:
    replicas = [
        ServiceProcess(
            "enrollment",
            database_url,
            own_broker.bootstrap_servers,
            log_dir=tmp_path,
            **own_broker.service_environment(),
            JOB_LEASE_SECONDS="2",
            OIDC_ISSUER=identity.issuer,
            OIDC_AUDIENCE=identity.audience,
        )
        for _ in range(2)
    ]
    hr = await tokens.headers("hr-admin")
    for replica in replicas:
        replica.start()
    try:
        for replica in replicas:
            await replica.ready()
        async with httpx.AsyncClient(base_url=replicas[0].url, timeout=60, headers=hr) as http:
            program = {**DEMO_PROGRAM, "capacity": None, "auto_approve": True}
            program_id = (await http.post("/programs", json=program)).json()["program_id"]
            await http.post(f"/programs/{program_id}/open")
            csv = as_csv(sample_people(ROWS, seed=3, first_employee=100_000)).encode()
            started = await http.post(
                f"/programs/{program_id}/imports", content=csv, headers={"content-type": "text/csv"}
            )
            job_id = started.json()["job_id"]

            # Stop whichever replica runs the import once it has committed a chunk or two.
            connection = await asyncpg.connect(database_url)
            try:
                owner: list[str] = []

                async def under_way() -> bool:
                    row = await connection.fetchrow(
                        "SELECT j.owner, i.processed FROM enrollment.jobs j JOIN enrollment.import_jobs i"
                        " ON i.job_id::text = j.payload->>'job_id' WHERE i.job_id = $1 AND j.state = 'running'",
                        job_id,
                    )
                    owner[:] = [row["owner"]] if row and row["processed"] > 0 else []
                    return bool(owner)

                await eventually(under_way, timeout=60, interval=0.02)
            finally:
                await connection.close()
            [running] = [replica for replica in replicas if owner[0].endswith(f":{replica.pid}")]
            stopped_at = (await import_of(http, job_id))["processed"]
            running.kill(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
            assert running.process is not None
            running.process.wait(timeout=30)
            assert stopped_at < ROWS, "the import ended before its replica could be stopped: make it longer"

        [survivor] = [replica for replica in replicas if replica is not running]
        async with httpx.AsyncClient(base_url=survivor.url, timeout=60, headers=hr) as http:

            async def completed() -> bool:
                return (await import_of(http, job_id))["status"] == "completed"

            await eventually(completed, timeout=90)
            done = await import_of(http, job_id)
    finally:
        for replica in replicas:
            replica.kill()

    assert (done["total"], done["processed"], done["enrolled"], done["duplicates"], done["rejected"]) == (
        ROWS,
        ROWS,
        ROWS,
        0,
        0,
    )
    connection = await asyncpg.connect(database_url)
    try:
        enrolled = await connection.fetchval(
            "SELECT count(*) FROM enrollment.events WHERE event_type = 'enrollment.ParticipantEnrolled'"
        )
        files = await connection.fetchval("SELECT count(*) FROM enrollment.import_files")
    finally:
        await connection.close()
    assert enrolled == ROWS  # everyone once: nobody lost, nobody twice
    assert files == 0  # the uploaded file is gone with the import
