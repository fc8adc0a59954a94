"""Pairing as it runs in production: enrollment's events arrive over Kafka, pairing's leave over Kafka."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pairing.integration.conftest import completed_round, settings_for
from pairing.integration.enrollment_feed import PROFILE, PROGRAM_TERMS, REGISTRY
from tandem_enrollment.domain import events as enrollment
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.published import Publisher
from tandem_kernel.testing import TokenBook, eventually, serving
from tandem_pairing.entrypoints.app import create

pytestmark = pytest.mark.broker

ENROLLED_AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def publish(bootstrap: str, messages: list[IncomingMessage]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for message in messages:
            encoded = [(name, text.encode()) for name, text in message.headers.items()]
            await producer.send_and_wait(message.topic, message.value, key=message.key, headers=encoded)
    finally:
        await producer.stop()


async def pairing_events(bootstrap: str, wanted: set[str], timeout: float = 20.0) -> dict[str, dict[str, object]]:
    """Read tandem.pairing.v1 until every type in `wanted` was seen; the last of each, by type."""
    consumer = AIOKafkaConsumer(
        "tandem.pairing.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: dict[str, dict[str, object]] = {}
    try:
        async with asyncio.timeout(timeout):
            while not wanted <= set(seen):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        headers = {name: value.decode() for name, value in record.headers}
                        assert record.key is not None and record.key.decode() == headers["ce_subject"]
                        seen[headers["ce_type"]] = json.loads(record.value)
    finally:
        await consumer.stop()
    return seen


async def enrollment_messages(producer: Publisher, program_id: UUID) -> tuple[list[IncomingMessage], list[UUID]]:
    """What enrollment's relay publishes for a program with two juniors and two seniors."""
    program_stream = f"program-{program_id}"
    messages = await producer.publish(
        program_stream, [enrollment.ProgramCreated(program_id=program_id, **PROGRAM_TERMS)]
    )
    people = []
    for number, role in enumerate(("junior", "senior", "junior", "senior")):
        participant_id = uuid4()
        people.append(participant_id)
        identity: dict[str, Any] = {
            "participant_id": participant_id,
            "program_id": program_id,
            "employee_id": f"K{number}",
            "role": role,
        }
        enrolled = enrollment.ParticipantEnrolled.model_validate({**identity, **PROFILE, "enrolled_at": ENROLLED_AT})
        approved = enrollment.ParticipantApproved(**identity, automatic=True)
        messages += await producer.publish(f"participant-{participant_id}", [enrolled, approved])
    opened = enrollment.ProgramOpened(program_id=program_id)  # not read by pairing: acknowledged, not dead
    messages += await producer.publish(program_stream, [opened])
    return messages, people


async def test_enrollment_events_over_kafka_fill_the_pool_and_pairings_events_are_published(
    database_url: str, own_broker: DevBroker, identity: DevIdentity, tokens: TokenBook
) -> None:
    program_id = uuid4()
    producer = await Publisher.start(database_url, "enrollment", REGISTRY)
    try:
        messages, people = await enrollment_messages(producer, program_id)
    finally:
        await producer.close()
    app = create(settings_for(database_url, own_broker.bootstrap_servers, identity))
    headers = await tokens.headers("hr-admin")
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as http:

        async def ready() -> bool:
            return (await http.get("/readyz")).status_code == 200

        async def pool_filled() -> bool:
            last_junior, last_senior = people[2], people[3]
            url = f"/programs/{program_id}/candidates/{last_junior}/{last_senior}/compatibility"
            response = await http.get(url)
            return response.status_code == 200 and response.json()["senior_in_pool"]

        await eventually(ready, timeout=40)
        await publish(own_broker.bootstrap_servers, messages)
        await eventually(pool_filled, timeout=20)
        round_ = await completed_round(http, program_id)
        assert round_["matched"] == 2

        published = await pairing_events(
            own_broker.bootstrap_servers, {"pairing.PairingRoundStarted", "pairing.PairProposed"}
        )

        proposed: dict[str, str] = published["pairing.PairProposed"]["payload"]  # type: ignore[assignment]
        assert proposed["program_id"] == str(program_id)
        # What went out on the broker is what the API lists, and it pairs people enrollment announced.
        assert proposed["pair_id"] in {p["pair_id"] for p in round_["proposals"]}
        assert {proposed["junior_id"], proposed["senior_id"]} <= set(map(str, people))
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM pairing.dead_letters") == 0
        # Every message read, but for ProgramOpened: ignored by type, before any inbox row.
        assert await connection.fetchval("SELECT count(*) FROM pairing.inbox") == len(messages) - 1
    finally:
        await connection.close()
