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
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg
from opentelemetry import propagate, trace

from tandem_kernel.database import advisory_lock_key
from tandem_kernel.metrics import EVENTS_PUBLISHED, RELAY_LAG_EVENTS, RELAY_LAG_SECONDS
from tandem_kernel.store import Cursor, EventStore, notify_channel

__all__ = ["MessagePublisher", "OutboxRelay", "cloudevent_headers"]

log = logging.getLogger("tandem.relay")
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


class OutboxRelay:
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
        broker_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.topic = topic
        self.source = source
        self.dsn = dsn
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.name = name
        self._broker_ready = broker_ready
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.is_leader = False
        self.running = False

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Publish until `stop()`; survives PostgreSQL and broker outages by retrying with backoff."""
        self.running = True
        backoff = 0.2
        try:
            while not self._stopping.is_set():
                try:
                    await self._lead_and_publish()
                    backoff = 0.2
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    log.warning("relay interrupted, retrying in %.1fs: %s", backoff, error)
                except Exception:
                    log.exception("relay failed, retrying in %.1fs", backoff)
                self.is_leader = False
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        finally:
            self.running = False

    def stop(self) -> None:
        """Finish the batch in flight (publish and checkpoint), then return from `run()`."""
        self._stopping.set()
        self._wake.set()

    async def _lead_and_publish(self) -> None:
        if self._broker_ready is not None:
            await self._broker_ready()
        connection = await asyncpg.connect(self.dsn)
        try:
            lock = advisory_lock_key(f"{self.name}:{self.store.schema}")
            while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", lock):
                if await self._sleep(self.poll_seconds * 5):
                    return
            self.is_leader = True
            await connection.add_listener(notify_channel(self.store.schema), self._on_notify)
            log.info("relay leading for schema %s, publishing to %s", self.store.schema, self.topic)
            while not self._stopping.is_set():
                # Cleared before reading, so a NOTIFY that lands during the batch is not lost.
                self._wake.clear()
                published = await self.publish_pending()
                if published < self.batch_size:
                    behind = await self._update_lag()
                    # Committed but not yet readable: a transaction older than them is still open
                    # (its commit may not notify), so look again soon rather than at the next poll.
                    await self._sleep(0.05 if behind else self.poll_seconds, wake=True)
                if connection.is_closed():
                    raise asyncpg.InterfaceError("relay's listening connection was closed")
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float, *, wake: bool = False) -> bool:
        """Sleep up to `seconds` (less when woken by NOTIFY, if `wake`); True if stopping."""
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        if wake:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        _, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        return self._stopping.is_set()

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
                f"{self.topic} publish", context=parent, kind=trace.SpanKind.PRODUCER,
                attributes={"messaging.system": "kafka", "messaging.destination.name": self.topic,
                            "messaging.message.id": headers["ce_id"]},
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
        row = await self.store.pool.fetchrow(
            "SELECT transaction_id, position FROM checkpoints WHERE name = $1", self.name
        )
        return Cursor(row["transaction_id"], row["position"]) if row else Cursor.origin()

    async def _save_checkpoint(self, cursor: Cursor) -> None:
        await self.store.pool.execute(
            "INSERT INTO checkpoints (name, transaction_id, position) VALUES ($1, $2::text::xid8, $3)"
            " ON CONFLICT (name) DO UPDATE SET transaction_id = excluded.transaction_id,"
            " position = excluded.position, updated_at = now()",
            self.name,
            str(cursor.transaction_id),
            cursor.position,
        )

    async def lag(self) -> tuple[int, float]:
        """Committed events not yet acknowledged, and the age in seconds of the oldest of them.

        Measured from the store's positions, never from broker offsets (see devbroker).
        """
        cursor = await self.checkpoint()
        row = await self.store.pool.fetchrow(
            "SELECT count(*) AS events, extract(epoch FROM now() - min(occurred_at)) AS seconds FROM events"
            " WHERE (transaction_id, position) > ($1::text::xid8, $2)",
            str(cursor.transaction_id),
            cursor.position,
        )
        assert row is not None
        return int(row["events"]), float(row["seconds"] or 0.0)

    async def _update_lag(self) -> int:
        events, seconds = await self.lag()
        RELAY_LAG_EVENTS.labels(self.topic).set(events)
        RELAY_LAG_SECONDS.labels(self.topic).set(seconds)
        return events
