"""Another service's events exactly as its relay publishes them, for feeding a consumer in tests.

A test of a consumer must not build wire messages by hand: the wire format has one definition, the
relay's (`store.read_all_wire` builds the document in PostgreSQL; `relay.cloudevent_headers` the
headers). `Publisher` appends the events to a real event store of the producer's (its own schema,
in the test's database, sealing personal fields with a key the consumer does not have, as the
producer's store does), reads them back the way the relay does, and hands each over as the Kafka
subscriber would (`IncomingMessage`).

    producer = await Publisher.start(dsn, "enrollment", enrollment_registry)
    [message] = await producer.publish(f"program-{program_id}", [ProgramCreated(...)])
    await processor.process(message)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg

from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import DomainEvent, EventMetadata, EventRegistry, NewEvent
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.relay import cloudevent_headers
from tandem_kernel.settings import service_topic
from tandem_kernel.store import Cursor, EventStore

__all__ = ["Publisher"]

READABLE_WITHIN_SECONDS = 30.0


class Publisher:
    """A producer service's store and relay path, without the broker."""

    def __init__(self, pool: asyncpg.Pool, service: str, registry: EventRegistry) -> None:
        self.pool = pool
        self.service = service
        self.topic = service_topic(service)
        self.store = EventStore(
            pool, schema=pool_schema(service), registry=registry, keyring=SubjectKeys(f"{service} producer (tests)")
        )
        self._cursor = Cursor.origin()

    @classmethod
    async def start(cls, dsn: str, service: str, registry: EventRegistry) -> Publisher:
        """The producer's store, in schema `<service>_producer` of the database at `dsn`."""
        schema = pool_schema(service)
        await migrate(dsn, schema)
        return cls(await create_pool(dsn, schema, min_size=1, max_size=4), service, registry)

    async def close(self) -> None:
        await self.pool.close()

    async def publish(
        self, stream_id: str, events: Sequence[DomainEvent], *, metadata: EventMetadata | None = None
    ) -> list[IncomingMessage]:
        """Append `events` to `stream_id` and return every message the relay would publish next.

        Waits until the new events are readable: an event committed while an older transaction is
        still open anywhere on the server is read (gap-safely) only once that one ends.
        """
        version = await self.store.stream_version(stream_id)
        appended = await self.store.append(stream_id, version, [NewEvent(event) for event in events], metadata=metadata)
        wanted = {str(event_id) for event_id in appended.event_ids}
        messages: list[IncomingMessage] = []
        async with asyncio.timeout(READABLE_WITHIN_SECONDS):
            while True:
                messages += await self.pending()
                if wanted <= {message.headers["ce_id"] for message in messages}:
                    break
                await asyncio.sleep(0.02)
        return messages

    async def pending(self) -> list[IncomingMessage]:
        """The messages not handed over yet, in the relay's order."""
        messages: list[IncomingMessage] = []
        while rows := await self.store.read_all_wire(self._cursor, 500):
            for row in rows:
                messages.append(
                    IncomingMessage(
                        topic=self.topic,
                        partition=0,
                        offset=row["position"],
                        key=row["stream_id"].encode(),
                        value=row["document"].encode(),
                        headers={
                            name: value.decode() for name, value in cloudevent_headers(row, f"/tandem/{self.service}")
                        },
                    )
                )
            self._cursor = Cursor(rows[-1]["transaction_id"], rows[-1]["position"])
        return messages


def pool_schema(service: str) -> str:
    return f"{service}_producer"
