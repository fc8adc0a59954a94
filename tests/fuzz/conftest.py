"""Both services running as they do in production — separate processes, real PostgreSQL, the real
broker — with a little data to reach past 404s: an open program, two enrolled people, a round and
its proposal. Generated requests (schemathesis) go to them over real HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.devbroker import DevBroker, broker_for_tests, free_port
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.testing import fresh_database

SERVICES = ("enrollment", "evaluation", "pairing", "reporting", "sessions")


@dataclass
class Platform:
    """Where each service listens, the HR token requests carry, and ids of the data made for the
    fuzzing to reach."""

    urls: dict[str, str]
    token: str
    seeded: dict[str, dict[str, str]] = field(default_factory=dict)


def _wait(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
            if found:
                return found
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} after {timeout:.0f}s")


def _seed(platform: Platform, identity: DevIdentity) -> None:
    headers = {"Authorization": f"Bearer {platform.token}"}
    enrollment = httpx.Client(base_url=platform.urls["enrollment"], timeout=30, headers=headers)
    pairing = httpx.Client(base_url=platform.urls["pairing"], timeout=30, headers=headers)
    program_id = enrollment.post("/programs", json={**DEMO_PROGRAM, "capacity": None}).json()["program_id"]
    enrollment.post(f"/programs/{program_id}/open").raise_for_status()
    junior, senior = sample_people(2)
    for person in (junior, senior):
        person.update(languages=["en"], availability=[{"weekday": "tue", "start": "09:00", "end": "12:00"}])
        person.update(time_zone="Europe/Paris", meeting_preference="remote", manager_employee_id=None)
    # The demo program approves everyone: both are in pairing's pool once it hears of them.
    enrolled = [enrollment.post(f"/programs/{program_id}/enrollments", json=p).json() for p in (junior, senior)]

    def pooled() -> bool:
        found = pairing.get(f"/programs/{program_id}/pool")
        pool = found.json() if found.status_code == 200 else None
        return pool is not None and pool["juniors"].get("approved", 0) + pool["seniors"].get("approved", 0) == 2

    _wait(pooled, "pairing did not hear of the seeded people")
    round_id = pairing.post(f"/programs/{program_id}/rounds", json={"kind": "full"}).json()["round_id"]
    proposals = _wait(lambda: pairing.get(f"/rounds/{round_id}").json()["proposals"], "the seeded round ran")
    junior_id, senior_id = enrolled[0]["participant_id"], enrolled[1]["participant_id"]
    pair_id = proposals[0]["pair_id"]
    for person, participant_id in ((junior, junior_id), (senior, senior_id)):  # each accepts as themselves
        login = f"fuzz-{person['employee_id']}"
        identity.add_account(login, roles=["participant"], employee_id=person["employee_id"])
        token = asyncio.run(identity.token(login))
        pairing.post(
            f"/proposals/{pair_id}/accept",
            json={"participant_id": participant_id},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
    sessions = httpx.Client(base_url=platform.urls["sessions"], timeout=30, headers=headers)
    planned = _wait(lambda: sessions.get(f"/pairs/{pair_id}/sessions").json().get("sessions"), "sessions planned")
    platform.seeded = {
        "enrollment": {
            "path.program_id": program_id,
            "path.participant_id": junior_id,
            "path.employee_id": junior["employee_id"],
        },
        "pairing": {
            "path.program_id": program_id,
            "path.junior_id": junior_id,
            "path.senior_id": senior_id,
            "path.participant_id": junior_id,
            "path.round_id": round_id,
            "path.pair_id": proposals[0]["pair_id"],
            "path.employee_id": junior["employee_id"],
        },
        "evaluation": {
            "path.program_id": program_id,
            "path.participant_id": junior_id,
            "path.pair_id": pair_id,
        },
        # `wait` pinned to 0: each generated `after` would otherwise wait up to 10 s for an event that
        # never comes (bounded read-your-writes is tested in tests/reporting), and the run would not fit.
        "reporting": {"path.program_id": program_id, "query.wait": "0"},
        "sessions": {
            "path.program_id": program_id,
            "path.participant_id": junior_id,
            "path.pair_id": pair_id,
            "path.session_id": planned[0]["session_id"],
        },
    }


@pytest.fixture(scope="session")
def platform(identity: DevIdentity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Every service in SERVICES, each in its own process and database, on a broker of its own (the
    topics and consumer groups have fixed names), trusting the session's OpenID provider."""
    with broker_for_tests() as broker:
        yield from _platform(broker, identity, tmp_path_factory)


def _platform(broker: DevBroker, identity: DevIdentity, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    databases = {name: fresh_database(f"tandem_fuzz_{name}") for name in SERVICES}
    logs = tmp_path_factory.mktemp("fuzz-logs")
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    try:
        for name, database in databases.items():
            dsn = asyncio.run(database.__aenter__())
            port = free_port()
            env = {
                **os.environ,
                "SERVICE_NAME": name,
                "DATABASE_URL": dsn,
                **broker.service_environment(),
                "HTTP_PORT": str(port),
                "LOG_FORMAT": "text",
                "RELAY_POLL_SECONDS": "0.2",
                "OIDC_ISSUER": identity.issuer,
                "OIDC_AUDIENCE": identity.audience,
            }
            log = open(Path(logs) / f"{name}.log", "wb")  # noqa: SIM115 - owned by the child process
            command = [sys.executable, "-m", "tandem_kernel.cli", "serve", name]
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
            urls[name] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            _wait(lambda url=url: httpx.get(f"{url}/readyz", timeout=2).status_code == 200, f"{url} not ready")
        platform = Platform(urls, asyncio.run(identity.token("hr-admin")))
        _seed(platform, identity)
        yield platform
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for database in databases.values():
            asyncio.run(database.__aexit__())
