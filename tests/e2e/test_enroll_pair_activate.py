"""Across services, through their real HTTP APIs, the real broker and the real OpenID provider: HR
opens a program in enrollment, a junior and a senior enroll themselves, pairing hears of them over
Kafka, a round proposes them, each accepts as themselves, and PairActivated is published on
pairing's topic."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from tandem_enrollment.entrypoints.app import service as enrollment
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.api import create_app
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings
from tandem_pairing.entrypoints.app import service as pairing

pytestmark = pytest.mark.broker


def settings(name: str, database_url: str, broker: DevBroker, identity: DevIdentity) -> ServiceSettings:
    return ServiceSettings(
        service_name=name,
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        kafka_topic_partitions=2,
        relay_poll_seconds=0.2,
        log_format="text",
        **signed_in_settings(identity),
    )


def a_matching_pair() -> list[dict[str, Any]]:
    junior, senior = (copy.deepcopy(person) for person in sample_people(2))
    for person in (junior, senior):
        person["languages"] = ["en"]
        person["time_zone"] = "Europe/Paris"
        person["availability"] = [{"weekday": "tue", "start": "09:00", "end": "12:00"}]
        person["meeting_preference"] = "remote"
        person["manager_employee_id"] = None
    junior["department"], senior["department"] = "IT", "Finance"
    return [junior, senior]


async def pairing_events(bootstrap: str, wanted: str, timeout: float = 30) -> list[tuple[bytes, dict[str, str], Any]]:
    consumer = AIOKafkaConsumer("tandem.pairing.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[tuple[bytes, dict[str, str], Any]] = []
    try:
        async with asyncio.timeout(timeout):
            while not any(headers["ce_type"] == wanted for _, headers, _ in seen):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    seen += [(r.key, {k: v.decode() for k, v in r.headers}, json.loads(r.value)) for r in records]
    finally:
        await consumer.stop()
    return seen


async def test_enroll_through_the_api_pair_accept_both_sides_and_see_the_pair_activated_on_the_broker(
    database_url: str, own_broker: DevBroker, identity: DevIdentity, tokens: TokenBook
) -> None:
    people = a_matching_pair()
    signed_in = {
        person["role"]: await tokens.headers(
            tokens.person(f"e2e-{person['role']}", roles=["participant"], employee_id=person["employee_id"])
        )
        for person in people
    }
    async with fresh_database() as pairing_database:
        enrollment_app = create_app(enrollment, settings("enrollment", database_url, own_broker, identity))
        pairing_app = create_app(pairing, settings("pairing", pairing_database, own_broker, identity))
        hr_headers = await tokens.headers("hr-admin")
        async with (
            serving(enrollment_app) as enrollment_url,
            serving(pairing_app) as pairing_url,
            httpx.AsyncClient(base_url=enrollment_url, headers=hr_headers) as hr,
            httpx.AsyncClient(base_url=pairing_url, headers=hr_headers) as matching,
        ):
            await eventually(lambda: _ready(hr))
            await eventually(lambda: _ready(matching))
            program = (await hr.post("/programs", json=DEMO_PROGRAM)).json()
            program_id = program["program_id"]
            assert (await hr.post(f"/programs/{program_id}/open")).status_code == 200
            participants = {}
            for person in people:  # each enrolls themselves
                enrolled = await hr.post(
                    f"/programs/{program_id}/enrollments", json=person, headers=signed_in[person["role"]]
                )
                assert enrolled.status_code == 201, enrolled.text
                assert enrolled.json()["status"] == "approved"
                participants[person["role"]] = enrolled.json()["participant_id"]

            await eventually(lambda: _pool_holds(matching, program_id, 2), timeout=30)
            requested = await matching.post(f"/programs/{program_id}/rounds", json={"kind": "full"})
            assert requested.status_code == 202, requested.text
            round_url = requested.headers["location"]
            await eventually(lambda: _finished(matching, round_url), timeout=30)
            # Proposals are listed from pairing's read model, which follows the round's events.
            await eventually(lambda: _proposals_listed(matching, round_url), timeout=30)
            round_ = (await matching.get(round_url)).json()
            assert round_["status"] == "completed" and round_["matched"] == 1, round_
            [proposal] = round_["proposals"]
            assert (proposal["junior_id"], proposal["senior_id"]) == (participants["junior"], participants["senior"])
            assert proposal["score"] == pytest.approx(sum(proposal["breakdown"].values()), abs=0.05)
            assert proposal["score"] > 0

            for side in ("junior", "senior"):  # each accepts as themselves
                answered = await matching.post(
                    f"/proposals/{proposal['pair_id']}/accept",
                    json={"participant_id": participants[side]},
                    headers=signed_in[side],
                )
                assert answered.status_code == 200, answered.text

            events = await pairing_events(own_broker.bootstrap_servers, "pairing.PairActivated")

    activated = [(key, headers, body) for key, headers, body in events if headers["ce_type"] == "pairing.PairActivated"]
    [(key, headers, body)] = activated
    assert key == f"pair-{proposal['pair_id']}".encode()
    assert headers["ce_source"] == "/tandem/pairing" and headers["ce_subject"] == key.decode()
    assert body["payload"]["junior_id"] == participants["junior"]
    assert body["payload"]["senior_id"] == participants["senior"]
    order = [headers["ce_type"] for _, headers, _ in events]
    assert order.index("pairing.PairProposed") < order.index("pairing.PairActivated")


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def _pool_holds(http: httpx.AsyncClient, program_id: str, count: int) -> bool:
    response = await http.get(f"/programs/{program_id}/pool")
    if response.status_code != 200:
        return False
    pool = response.json()
    return bool(pool["juniors"].get("approved", 0) + pool["seniors"].get("approved", 0) >= count)


async def _proposals_listed(http: httpx.AsyncClient, url: str) -> bool:
    return bool((await http.get(url)).json()["proposals"])


async def _finished(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(url)).json()["status"] != "running"
