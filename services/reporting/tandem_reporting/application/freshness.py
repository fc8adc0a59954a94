"""How fresh an answer is, and read-your-writes across services.

Every answer names, per source service, the last event the read model applied and when. A caller
that caused an event elsewhere (enrolled someone, held a session) passes its id (`?after=` or the
`Tandem-After-Event` header) and the answer waits, at most `wait` seconds, until the read model has
applied it: the event's inbox row lies at or before the projection's checkpoint, in commit order.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import asyncpg

from tandem_reporting.adapters import queries
from tandem_reporting.adapters.projection import programs_projection

__all__ = ["applied", "freshness"]

_APPLIED = """
SELECT i.envelope IS NULL
       OR (c.transaction_id IS NOT NULL AND (i.transaction_id, i.position) <= (c.transaction_id, c.position))
FROM inbox i LEFT JOIN checkpoints c ON c.name = $2
WHERE i.consumer = ANY($1::text[]) AND i.event_id = $3
LIMIT 1
"""


async def applied(db: asyncpg.Pool, event_id: UUID, *, wait: float) -> bool:
    """Whether the read model has applied `event_id`, waiting up to `wait` seconds for it."""
    consumers = list(programs_projection.consumes)
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        if await db.fetchval(_APPLIED, consumers, programs_projection.checkpoint_name, event_id):
            return True
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.05)


async def freshness(db: asyncpg.Connection, after: dict[str, Any] | None) -> dict[str, Any]:
    """What an answer says of its freshness: per source, the last event applied (read in the answer's
    own snapshot), and whether the event the caller waited for (`applied`'s outcome) is in it."""
    return {"sources": await queries.freshness(db), "after": after}
