"""The transactional outbox relay: publishes a service's own events from its event store to Kafka.

The events table is the outbox. The relay tails it in commit-safe order (`EventStore.read_all`),
publishes a batch, waits for the broker's acknowledgements, and only then moves its checkpoint in
PostgreSQL. A crash between the two re-publishes the batch: at-least-once, never lost; consumers
deduplicate by event id. It wakes on LISTEN/NOTIFY and polls as a fallback.

One relay per service publishes at a time: the leader holds a PostgreSQL advisory lock; other
replicas wait as standbys.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from opentelemetry import propagate, trace

from tandem_kernel.follower import StoreFollower
from tandem_kernel.metrics import EVENTS_PUBLISHED, RELAY_LAG_EVENTS, RELAY_LAG_SECONDS
from tandem_kernel.store import Cursor, EventStore

__all__ = ["MessagePublisher", "OutboxRelay", "cloudevent_headers"]

_tracer = trace.get_tracer("tandem.relay")


class MessagePublisher(Protocol):
    """What the relay needs of a broker: publish without waiting, hand back the acknowledgement."""

    async def publish(
        self, message: Any, topic: str = "", *, key: Any = None, headers: dict[str, str] | None = None, no_confirm: bool
    ) -> Any: ...


def cloudevent_headers(row: asyncpg.Record, source: str) -> dict[str, str]:
    """CloudEvents Kafka binding headers (binary mode) for a stored event, plus W3C trace context."""
    occurred_at: datetime = row["occurred_at"]
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(row["event_id"]),
        "ce_type": row["event_type"],
        "ce_source": source,
        "ce_time": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "ce_subject": row["stream_id"],
        "content-type": "application/json",
    }
    trace_context = json.loads(row["trace_context"])
    if "traceparent" in trace_context:
        headers["traceparent"] = trace_context["traceparent"]
    return headers


class OutboxRelay(StoreFollower):
    """Publishes `store`'s events to `topic`, leader-elected, checkpointed after broker acks.

    >>> relay = OutboxRelay(store, broker, topic="tandem.pairing.v1", source="/tandem/pairing", dsn=dsn)
    >>> task = asyncio.create_task(relay.run())   # until relay.stop()
    """

    def __init__(
        self,
        store: EventStore,
        publisher: MessagePublisher,
        *,
        topic: str,
        source: str,
        dsn: str,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        name: str = "relay",
        broker_ready: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        super().__init__(store, name=name, dsn=dsn, batch_size=batch_size, poll_seconds=poll_seconds)
        self.publisher = publisher
        self.topic = topic
        self.source = source
        self._broker_ready = broker_ready

    async def before_leading(self) -> None:
        if self._broker_ready is not None:
            await self._broker_ready()

    async def step(self) -> int:
        return await self.publish_pending()

    # -- one batch -----------------------------------------------------------------------------

    async def publish_pending(self) -> int:
        """Publish the next batch after the checkpoint and move the checkpoint; returns its size."""
        cursor = await self.checkpoint()
        rows = await self.store.read_all_wire(cursor, self.batch_size)
        if rows:
            await self._publish(rows)
            last = rows[-1]
            await self._save_checkpoint(Cursor(last["transaction_id"], last["position"]))
        return len(rows)

    async def republish_all(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Publish the whole history again from the start, without touching the live checkpoint.

        The development broker keeps nothing across restarts; consumers deduplicate the replay.
        """
        cursor, total = Cursor.origin(), 0
        while rows := await self.store.read_all_wire(cursor, self.batch_size):
            await self._publish(rows)
            cursor = Cursor(rows[-1]["transaction_id"], rows[-1]["position"])
            total += len(rows)
            if progress:
                progress(len(rows))
        return total

    async def _publish(self, rows: list[asyncpg.Record]) -> None:
        acknowledgements = []
        for row in rows:
            headers = cloudevent_headers(row, self.source)
            parent = propagate.extract(json.loads(row["trace_context"]))
            with _tracer.start_as_current_span(
                f"{self.topic} publish",
                context=parent,
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": self.topic,
                    "messaging.message.id": headers["ce_id"],
                },
            ):
                # The publish span becomes the consumer's parent: one trace from HTTP to projection.
                propagate.inject(headers)
                acknowledgements.append(
                    await self.publisher.publish(
                        row["document"].encode(),
                        self.topic,
                        key=row["stream_id"].encode(),
                        headers=headers,
                        no_confirm=True,
                    )
                )
        await asyncio.gather(*acknowledgements)
        EVENTS_PUBLISHED.labels(self.topic).inc(len(rows))

    # -- checkpoint and lag --------------------------------------------------------------------

    async def checkpoint(self) -> Cursor:
        return await self.store.checkpoint(self.name)

    async def _save_checkpoint(self, cursor: Cursor) -> None:
        await self.store.save_checkpoint(self.name, cursor)

    async def lag(self) -> tuple[int, float]:
        """Committed events not yet acknowledged, and the age in seconds of the oldest of them.

        Measured from the store's positions, never from broker offsets (see devbroker).
        """
        return await self.store.events_after(await self.checkpoint())

    async def behind(self) -> int:
        events, seconds = await self.lag()
        RELAY_LAG_EVENTS.labels(self.topic).set(events)
        RELAY_LAG_SECONDS.labels(self.topic).set(seconds)
        return events
