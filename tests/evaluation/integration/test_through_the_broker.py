"""Evaluation as it runs in production: the other services' events arrive over Kafka (a sessions-shaped
SessionHeld among them, published through the kernel's `Publisher`, the relay's wire format), the
participant answers over HTTP, the program's impact is updated over HTTP, and evaluation's own events
leave over Kafka."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from evaluation.integration.conftest import SignedAsTheSender, settings_for
from evaluation.integration.feed import Feed, Producers
from tandem_evaluation.entrypoints.app import create
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving

pytestmark = pytest.mark.broker


async def send(bootstrap: str, messages: list[IncomingMessage]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for message in messages:
            headers = [(name, text.encode()) for name, text in message.headers.items()]
            await producer.send_and_wait(message.topic, message.value, key=message.key, headers=headers)
    finally:
        await producer.stop()


async def evaluation_events(bootstrap: str, wanted: set[str], timeout: float = 20.0) -> dict[str, dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        "tandem.evaluation.v1", bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    seen: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(timeout):
            while not wanted <= set(seen):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        headers = {name: value.decode() for name, value in record.headers}
                        seen[headers["ce_type"]] = json.loads(record.value)
    finally:
        await consumer.stop()
    return seen


async def test_a_session_held_asks_for_feedback_answered_over_http_and_the_impact_follows(
    identity: DevIdentity, tokens: TokenBook
) -> None:
    with DevBroker() as broker:
        async with fresh_database("tandem_evaluation_e2e") as database_url:
            app = create(settings_for(database_url, broker.bootstrap_servers, identity))
            producers = await Producers.start(database_url)
            feed = Feed(producers)  # no processors: the messages go over the broker
            try:
                async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
                    await eventually(lambda: _ready(http), timeout=60)
                    program = await feed.program()
                    junior = await feed.participant(program, "junior", wants=("ai_tools",))
                    senior = await feed.participant(program, "senior", wants=("prompt_engineering",))
                    pair = await feed.pair(program, junior, senior, activated_at=datetime.now(UTC) - timedelta(days=3))
                    session = await feed.session_held(
                        program, pair, junior, senior, held_at=datetime.now(UTC) - timedelta(hours=1)
                    )
                    assert [m.headers["ce_type"] for m in feed.sent][-1] == "sessions.SessionHeld"
                    await send(broker.bootstrap_servers, feed.sent)

                    auth = SignedAsTheSender(tokens, feed)
                    as_junior = await tokens.headers(auth.login(feed.employees[junior]))
                    asked: dict[str, Any] = {}

                    async def feedback_requested() -> bool:
                        response = await http.get(f"/participants/{junior}/evaluation", headers=as_junior)
                        asked.update(response.json() if response.status_code == 200 else {})
                        # Each topic has its own consumer: the enrollment, pairing and sessions events
                        # arrive in any order, and the answer settles once all three have.
                        pending = asked.get("asked", {})
                        return bool(pending.get("feedback") and pending.get("assessments"))

                    await eventually(feedback_requested, timeout=30)
                    assert asked["asked"]["feedback"] == [str(session)]
                    assert asked["asked"]["fit"] == [str(pair)] and asked["asked"]["assessments"] == ["baseline"]

                    answered = await http.post(
                        f"/sessions/{session}/feedback",
                        json={"participant_id": str(junior), "usefulness": 4, "trust": 5, "comment": "concrete"},
                        headers=as_junior,
                    )
                    assert answered.status_code == 200, answered.text
                    impact = await http.get(f"/programs/{program}/impact", headers=await tokens.headers("reporting"))

                    assert impact.status_code == 200, impact.text
                    assert impact.json()["feedback"] == {"count": 1, "mean_usefulness": 4.0, "mean_trust": 5.0}
                    assert impact.json()["evaluated"] == 2
                    published = await evaluation_events(
                        broker.bootstrap_servers, {"evaluation.AssessmentRequested", "evaluation.SessionFeedbackGiven"}
                    )
                    given = published["evaluation.SessionFeedbackGiven"]["payload"]
                    assert (given["session_id"], given["usefulness"], given["trust"]) == (str(session), 4, 5)
                    assert "comment" not in given and "concrete" not in json.dumps(given)
            finally:
                await producers.close()


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200
