"""Dead letters: the messages a consumer gave up on, kept whole so that ops can read and replay them.

Every arrival is its own row, never overwritten: after a broker wipe, offsets start again, and a
new failing message at the coordinates of an old one must not take the old one's place (nor the
old one's body). A letter is one of three kinds:

- `unreadable`: the bytes are not an event this consumer can decode;
- `failed`: the handler kept failing on it (`attempts` times) while PostgreSQL answered;
- `conflicting_duplicate`: an event id handled before arrived with another body, type or topic;
  it was skipped, and waits here for someone to look.

The row is written first (the durable record), then the message goes to `<topic>.dlq` with the
error in its headers for whoever watches that topic. `tandem deadletters list|replay|resolve`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from tandem_kernel.messages import IncomingMessage
from tandem_kernel.metrics import DEAD_LETTER_PUBLISH_FAILURES, DEAD_LETTERS

__all__ = ["DeadLetter", "DeadLetterBox", "DeadLetterPublisher", "list_dead_letters", "mark", "resolve", "waiting"]

log = logging.getLogger("tandem.dead_letters")

DeadLetterPublisher = Callable[[str, IncomingMessage, dict[str, str]], Awaitable[None]]

PUBLISH_ATTEMPTS = 5


@dataclass(frozen=True)
class DeadLetter:
    """One letter as ops see it."""

    id: int
    consumer: str
    kind: str
    topic: str
    partition: int
    offset: int
    event_id: UUID | None
    error_type: str
    error: str
    attempts: int
    dead_at: datetime
    replayed_at: datetime | None
    replay_outcome: str | None


class DeadLetterBox:
    """Where one consumer's dead letters go: the table, then the dead-letter topic."""

    def __init__(self, pool: asyncpg.Pool, consumer: str, publish: DeadLetterPublisher) -> None:
        self.pool = pool
        self.consumer = consumer
        self.publish = publish

    async def record(
        self, message: IncomingMessage, error: BaseException, *, attempts: int, kind: str, stopping: asyncio.Event
    ) -> None:
        """Keep `message` as a dead letter. Waits out a PostgreSQL outage (raises only when stopping)."""
        error_headers = {
            "x-dlq-consumer": self.consumer,
            "x-dlq-kind": kind,
            "x-dlq-error-type": type(error).__name__,
            "x-dlq-error": str(error)[:1000],
            "x-dlq-attempts": str(attempts),
            "x-dlq-original-topic": message.topic,
            "x-dlq-original-partition": str(message.partition),
            "x-dlq-original-offset": str(message.offset),
        }
        backoff = 0.2
        while True:
            try:
                await self._insert(message, error, attempts, kind)
                break
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as outage:
                if stopping.is_set():
                    raise
                log.warning("cannot record a dead letter of %s yet: %r", self.consumer, outage)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        DEAD_LETTERS.labels(self.consumer, message.topic).inc()
        log.error(
            "consumer %s dead-lettered %s[%d]@%d (%s): %s",
            self.consumer,
            message.topic,
            message.partition,
            message.offset,
            kind,
            error,
        )
        await self._publish(message, error_headers)

    async def _insert(self, message: IncomingMessage, error: BaseException, attempts: int, kind: str) -> None:
        await self.pool.execute(
            "INSERT INTO dead_letters (consumer, kind, topic, kafka_partition, kafka_offset, event_id, message_key,"
            " message_value, headers, error_type, error, attempts)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12)",
            self.consumer,
            kind,
            message.topic,
            message.partition,
            message.offset,
            _event_id(message),
            message.key,
            message.value,
            json.dumps(dict(message.headers)),
            type(error).__name__,
            str(error),
            attempts,
        )

    async def _publish(self, message: IncomingMessage, error_headers: dict[str, str]) -> None:
        # The table holds the letter; the topic is for whoever watches it. A broker that will not
        # take it costs the topic copy only, which is said loudly.
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                await self.publish(f"{message.topic}.dlq", message, error_headers)
                return
            except Exception as error:
                if attempt == PUBLISH_ATTEMPTS:
                    DEAD_LETTER_PUBLISH_FAILURES.labels(self.consumer).inc()
                    log.error(
                        "dead letter of %s kept in the table but not published to %s.dlq: %r",
                        self.consumer,
                        message.topic,
                        error,
                    )
                    return
                await asyncio.sleep(0.1 * attempt)


def _event_id(message: IncomingMessage) -> UUID | None:
    try:
        return UUID(message.headers.get("ce_id", ""))
    except ValueError:
        return None


_COLUMNS = """id, consumer, kind, topic, kafka_partition, kafka_offset, event_id, error_type, error, attempts, dead_at,
    replayed_at, replay_outcome"""


def _letter(row: asyncpg.Record) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        consumer=row["consumer"],
        kind=row["kind"],
        topic=row["topic"],
        partition=row["kafka_partition"],
        offset=row["kafka_offset"],
        event_id=row["event_id"],
        error_type=row["error_type"],
        error=row["error"],
        attempts=row["attempts"],
        dead_at=row["dead_at"],
        replayed_at=row["replayed_at"],
        replay_outcome=row["replay_outcome"],
    )


async def list_dead_letters(pool: asyncpg.Pool, *, include_replayed: bool = False) -> list[DeadLetter]:
    """The letters waiting for someone (all of them with `include_replayed`), oldest first."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM dead_letters WHERE $1 OR replayed_at IS NULL ORDER BY id", include_replayed
    )
    return [_letter(row) for row in rows]


async def waiting(pool: asyncpg.Pool, ids: Sequence[int] | None = None) -> list[asyncpg.Record]:
    """Whole rows of the letters waiting (all, or `ids`), for replay."""
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT * FROM dead_letters WHERE replayed_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY id",
        list(ids) if ids is not None else None,
    )
    return rows


async def mark(pool: asyncpg.Pool, letter_id: int, outcome: str) -> None:
    """Record what replaying the letter did; it no longer waits (a new failure is a new letter)."""
    await pool.execute(
        "UPDATE dead_letters SET replayed_at = now(), replay_outcome = $2 WHERE id = $1", letter_id, outcome
    )


async def resolve(pool: asyncpg.Pool, ids: Sequence[int], note: str = "resolved") -> int:
    """Close letters an operator has looked at without replaying them (e.g. conflicting duplicates)."""
    result: str = await pool.execute(
        "UPDATE dead_letters SET replayed_at = now(), replay_outcome = $2 WHERE id = ANY($1) AND replayed_at IS NULL",
        list(ids),
        note[:200],
    )
    return int(result.rsplit(" ", 1)[-1])
