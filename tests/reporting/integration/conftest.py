"""The reporting service behind real HTTP on a real PostgreSQL database and a broker of its own, fed
through that broker: the producers' events, as their relays publish them, sent to their topics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from reporting.feed import ReportingFeed, reporting_feed
from reporting.history import Batch, History, generate
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings
from tandem_reporting.entrypoints.app import create

__all__ = ["Reporting", "publish"]


async def publish(bootstrap: str, messages: list[IncomingMessage]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for message in messages:
            headers = [(name, text.encode()) for name, text in message.headers.items()]
            await producer.send_and_wait(message.topic, message.value, key=message.key, headers=headers)
    finally:
        await producer.stop()


@dataclass
class Reporting:
    url: str
    http: httpx.AsyncClient
    history: History
    feed: ReportingFeed
    bootstrap: str
    last_event_id: str

    async def send(self, batches: list[Batch]) -> str:
        """Publish the batches to the broker and wait until reporting applied all of them (each topic
        is consumed on its own: the last event of one says nothing of the others). The last event's id."""
        messages = [message for batch in batches for message in await self.feed.messages(batch)]
        await publish(self.bootstrap, messages)
        last = {message.topic: message.headers["ce_id"] for message in messages}
        for event_id in last.values():
            response = await self.http.get("/programs", params={"after": event_id, "wait": 10})
            assert response.json()["freshness"]["after"]["applied"], response.text
        return messages[-1].headers["ce_id"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def reporting(identity: DevIdentity, tokens: TokenBook) -> AsyncIterator[Reporting]:
    with DevBroker() as broker:
        async with fresh_database("tandem_reporting_test") as database_url:
            settings = ServiceSettings(
                service_name="reporting",
                environment="test",
                database_url=database_url,
                kafka_bootstrap_servers=broker.bootstrap_servers,
                kafka_topic_partitions=1,
                relay_poll_seconds=0.1,
                log_format="text",
                **signed_in_settings(identity),
            )
            async with serving(create(settings)) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:

                async def ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await eventually(ready, timeout=60)
                async with reporting_feed(database_url) as feed:
                    history = generate(seed=11, programs=2, participants=40)
                    service = Reporting(url, http, history, feed, broker.bootstrap_servers, "")
                    http.headers.update(await tokens.headers("hr-admin"))
                    service.last_event_id = await service.send(history.batches)
                    yield service
