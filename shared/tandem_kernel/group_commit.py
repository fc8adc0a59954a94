"""Group commit: concurrent appends to different streams share one statement and one commit.

Each append to the store is a transaction of its own, and a transaction's cost is mostly its round
trip and its commit (a WAL flush), not its row. When many writers append at once, the appends that
arrive while a statement is in flight wait for it and then go together in the next one: every
writer still gets its own result — its positions, or its own `ConcurrencyError` when its stream had
moved on — and the others' appends are not affected by it. Alone, an append goes at once, as before.

Safety is that of a single append: each stream's head is checked in the same statement that inserts,
and the (stream_id, stream_version) unique constraint settles races with writers in other
processes. A batch never holds two appends to one stream (the second waits for the next batch). If
PostgreSQL refuses the statement because of one append (a race lost to another process, a value it
cannot store, such as a NUL character), each append of the batch is retried on its own, so only
that one fails and its neighbours commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

__all__ = ["GroupCommit"]

MAX_BATCH = 256
# Two statements in flight: one batch is built and sent while the previous one waits for its commit.
SENDERS = 2

# One row per event: which request it belongs to, its stream, the version the request expected, its
# place within the request. Streams whose head is not at the expected version insert nothing.
_APPEND_MANY = """
WITH input AS (
    SELECT * FROM unnest(
        $1::int[], $2::text[], $3::int[], $4::int[], $5::uuid[], $6::text[], $7::int[], $8::timestamptz[],
        $9::jsonb[], $10::text[], $11::uuid[], $12::uuid[], $13::text[], $14::jsonb[], $15::text[], $16::text[]
    ) AS i(request, stream_id, expected, ordinal, event_id, event_type, event_version, occurred_at,
           payload, data_subject, correlation_id, causation_id, actor, trace_context, actor_role, actor_client)
), heads AS (
    SELECT s.stream_id,
           (SELECT coalesce(max(e.stream_version), 0) FROM events e WHERE e.stream_id = s.stream_id) AS version
    FROM (SELECT DISTINCT stream_id FROM input) AS s
), inserted AS (
    INSERT INTO events (event_id, stream_id, stream_version, event_type, event_version, occurred_at,
                        correlation_id, causation_id, actor, trace_context, payload, data_subject,
                        actor_role, actor_client)
    SELECT i.event_id, i.stream_id, i.expected + i.ordinal, i.event_type, i.event_version, i.occurred_at,
           i.correlation_id, i.causation_id, i.actor, i.trace_context, i.payload, i.data_subject,
           i.actor_role, i.actor_client
    FROM input i JOIN heads h ON h.stream_id = i.stream_id AND h.version = i.expected
    ORDER BY i.request, i.ordinal
    RETURNING position, stream_id, stream_version
)
SELECT h.stream_id, h.version AS head_version,
       (SELECT array_agg(x.position ORDER BY x.stream_version) FROM inserted x WHERE x.stream_id = h.stream_id)
           AS positions
FROM heads h
"""


@dataclass
class _Request:
    arguments: list[Any]  # as EventStore._append_arguments builds them
    result: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    @property
    def stream_id(self) -> str:
        return str(self.arguments[0])


class GroupCommit:
    """Sends appends in batches, one statement in flight at a time.

    `append_alone(arguments)` is the store's single-append path: used for a batch of one and to
    settle each append of a batch whose statement failed. `settle(arguments, head_version,
    positions)` turns a batched append's outcome into its result (or raises its ConcurrencyError).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        append_alone: Callable[[list[Any]], Awaitable[Any]],
        settle: Callable[[list[Any], int, list[int] | None], Any],
    ) -> None:
        self.pool = pool
        self._append_alone = append_alone
        self._settle = settle
        self._pending: list[_Request] = []
        self._senders: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()  # streams of the batches being sent

    async def append(self, arguments: list[Any]) -> Any:
        request = _Request(arguments)
        self._pending.append(request)
        if len(self._senders) < SENDERS:
            self._senders.add(asyncio.get_running_loop().create_task(self._send_pending()))
        return await request.result

    async def _send_pending(self) -> None:
        try:
            while batch := self._next_batch():
                streams = {request.stream_id for request in batch}
                self._in_flight |= streams
                try:
                    await self._send(batch)
                finally:
                    self._in_flight -= streams
        finally:
            # Leave the set in the same step as the last look at `_pending` (no await in between):
            # an append arriving after this starts a sender of its own.
            task = asyncio.current_task()
            if task is not None:
                self._senders.discard(task)

    def _next_batch(self) -> list[_Request]:
        """Pending appends to distinct streams that no batch in flight touches."""
        batch: list[_Request] = []
        later: list[_Request] = []
        streams: set[str] = set()
        for request in self._pending:
            if request.stream_id in streams or request.stream_id in self._in_flight or len(batch) >= MAX_BATCH:
                later.append(request)
            else:
                batch.append(request)
                streams.add(request.stream_id)
        self._pending = later
        return batch

    async def _send(self, batch: list[_Request]) -> None:
        if len(batch) == 1:
            await self._alone(batch[0])
            return
        try:
            rows = await self.pool.fetch(_APPEND_MANY, *_columns(batch))
        except asyncpg.PostgresConnectionError as error:
            for request in batch:  # the connection, not an append, failed: every append shares the fault
                _reject(request, error)
            return
        except asyncpg.PostgresError:
            # PostgreSQL refused the statement because of one append (a race lost to another
            # process, a value it cannot store): settle each append on its own, so only that one fails.
            await asyncio.gather(*(self._alone(request) for request in batch))
            return
        except BaseException as error:
            for request in batch:
                _reject(request, error)
            if not isinstance(error, Exception):
                raise
            return
        heads = {row["stream_id"]: (row["head_version"], row["positions"]) for row in rows}
        for request in batch:
            head_version, positions = heads[request.stream_id]
            try:
                _resolve(request, self._settle(request.arguments, head_version, positions))
            except Exception as error:  # the request's own ConcurrencyError
                _reject(request, error)

    async def _alone(self, request: _Request) -> None:
        try:
            _resolve(request, await self._append_alone(request.arguments))
        except Exception as error:
            _reject(request, error)


# A writer that gave up waiting (cancelled) has a finished future: its append still happened.
def _resolve(request: _Request, value: Any) -> None:
    if not request.result.done():
        request.result.set_result(value)


def _reject(request: _Request, error: BaseException) -> None:
    if not request.result.done():
        request.result.set_exception(error)


def _columns(batch: list[_Request]) -> list[list[Any]]:
    """The statement's sixteen arrays, one element per event of every request in the batch."""
    columns: list[list[Any]] = [[] for _ in range(16)]
    for number, request in enumerate(batch):
        (stream_id, expected, correlation, causation, actor, trace_context, event_ids, event_types, event_versions,
         occurred, payloads, subjects, actor_role, actor_client) = request.arguments  # fmt: skip
        for ordinal, event_id in enumerate(event_ids):
            row = (
                number, stream_id, expected, ordinal + 1, event_id, event_types[ordinal], event_versions[ordinal],
                occurred[ordinal], payloads[ordinal], subjects[ordinal], correlation, causation, actor, trace_context,
                actor_role, actor_client,
            )  # fmt: skip
            for column, value in zip(columns, row, strict=True):
                column.append(value)
    return columns
