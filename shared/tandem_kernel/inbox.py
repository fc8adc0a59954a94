"""What a service consumed from other services' topics, read back in commit order: the source of read
models fed from Kafka.

A subscription with `retain=True` keeps each envelope it accepts in its inbox row, in the
consumer's transaction (see `consumers`). `InboxSource` reads those rows the way the event store
reads its own events (see `store`): ordered by (transaction id, position) and only below the oldest
transaction still running, so a tailing reader never skips a row that commits late. A projection
given an `InboxSource` (`Projection(..., consumes=(...))`) is followed, checkpointed, parked and
rebuilt exactly like one fed by the service's own store — with no broker history needed to rebuild.

Each envelope keeps the producer's ids and payload; its `position` and `transaction_id` are the
inbox row's, which is what the projection's checkpoint counts in (PostgreSQL writes them into the
document it returns, so that the registry reads each row's text in one pass: see
`EventRegistry.envelope_from_retained`).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from tandem_kernel.events import EventEnvelope, EventRegistry
from tandem_kernel.store import ORIGIN, SETTLED_BEFORE, Cursor

__all__ = ["InboxSource"]

# The retained document with the inbox row's place in commit order instead of the producer's.
_ENVELOPE = (
    "(envelope || jsonb_build_object('position', position, 'transaction_id', transaction_id::text::numeric))::text"
)

_READ = f"""
SELECT position, transaction_id, {_ENVELOPE} AS envelope FROM inbox
WHERE consumer = ANY($1::text[]) AND envelope IS NOT NULL
  AND (transaction_id, position) > ($2::text::xid8, $3)
  AND transaction_id < {SETTLED_BEFORE}
ORDER BY transaction_id, position
LIMIT $4
"""


class InboxSource:
    """The retained envelopes of some consumers of this service, as an event source.

    >>> source = InboxSource(pool, schema="reporting", consumers=("reporting.enrollment",), registry=readers)
    """

    def __init__(self, pool: asyncpg.Pool, *, schema: str, consumers: Sequence[str], registry: EventRegistry) -> None:
        self.pool = pool
        self.schema = schema  # where its checkpoints live, and the channel that wakes its readers
        self.consumers = list(consumers)
        self.registry = registry

    async def read_all(
        self, after: Cursor = ORIGIN, limit: int = 1000, *, connection: asyncpg.Connection | None = None
    ) -> list[EventEnvelope]:
        """Up to `limit` retained envelopes after `after`, in commit-safe order."""
        rows = await (connection or self.pool).fetch(_READ, self.consumers, str(after[0]), after[1], limit)
        return [self._envelope(row) for row in rows]

    async def events_after(self, cursor: Cursor) -> tuple[int, float]:
        """How many retained envelopes lie after `cursor`, and the age in seconds of the oldest."""
        row = await self.pool.fetchrow(
            "SELECT count(*) AS events, extract(epoch FROM now() - min(handled_at)) AS seconds FROM inbox"
            " WHERE consumer = ANY($1::text[]) AND envelope IS NOT NULL"
            " AND (transaction_id, position) > ($2::text::xid8, $3)",
            self.consumers,
            str(cursor.transaction_id),
            cursor.position,
        )
        assert row is not None
        return int(row["events"]), float(row["seconds"] or 0.0)

    async def read_events(self, event_ids: Sequence[UUID]) -> list[EventEnvelope]:
        """The retained envelopes with these event ids (the first consumer's, in commit order)."""
        rows = await self.pool.fetch(
            f"SELECT DISTINCT ON (event_id) position, transaction_id, {_ENVELOPE} AS envelope FROM inbox"
            " WHERE consumer = ANY($1::text[]) AND event_id = ANY($2::uuid[]) AND envelope IS NOT NULL"
            " ORDER BY event_id, position",
            self.consumers,
            list(event_ids),
        )
        return [self._envelope(row) for row in rows]

    def _envelope(self, row: asyncpg.Record) -> EventEnvelope:
        return self.registry.envelope_from_retained(row["envelope"])
