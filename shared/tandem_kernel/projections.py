"""Projections: read models folded from a service's own events, rebuilt without downtime.

A projection owns a PostgreSQL schema of read-model tables (`read_schema`). It applies each batch of
events and moves its checkpoint in one transaction, so effects happen exactly once. Its handlers
write unqualified table names: the runner points `search_path` at the schema being built, which is
how a rebuild writes into fresh tables while readers keep querying `read_schema.<table>`.

Rebuild (`ProjectionRunner.rebuild`): build every table anew in `<read_schema>__rebuild` from the
whole history, then, holding the live checkpoint's row lock (the live runner waits), catch up the
last events and swap the schemas by renaming them — one transaction, so readers see the old read
model until the new one has caught up, and then the new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import asyncpg

from tandem_kernel.consumers import EventHandler
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.follower import StoreFollower
from tandem_kernel.metrics import PROJECTION_LAG_EVENTS
from tandem_kernel.store import Cursor, EventStore

__all__ = ["Projection", "ProjectionRunner"]

log = logging.getLogger("tandem.projections")


@dataclass(frozen=True)
class Projection:
    """A named read model: its schema, the DDL of its tables, and a handler per event type.

    >>> Projection("participants", read_schema="enrollment_read", ddl=PARTICIPANTS_DDL,
    ...            handlers={ParticipantEnrolled: insert_participant})
    """

    name: str
    read_schema: str
    ddl: str
    handlers: Mapping[type[DomainEvent], EventHandler] = field(default_factory=dict)

    @property
    def checkpoint_name(self) -> str:
        return f"projection:{self.name}"


class ProjectionRunner(StoreFollower):
    """Keeps one projection up to date with its service's event store."""

    def __init__(
        self, projection: Projection, store: EventStore, *, dsn: str, batch_size: int = 500, poll_seconds: float = 1.0
    ) -> None:
        super().__init__(
            store, name=projection.checkpoint_name, dsn=dsn, batch_size=batch_size, poll_seconds=poll_seconds
        )
        self.projection = projection

    async def create_tables(self) -> None:
        """Create the read schema and its tables on first boot (a no-op afterwards)."""
        async with self.store.pool.acquire() as connection, connection.transaction():
            exists = await connection.fetchval(
                "SELECT true FROM pg_namespace WHERE nspname = $1", self.projection.read_schema
            )
            if not exists:
                await self._create_schema(connection, self.projection.read_schema)

    async def step(self) -> int:
        async with self.store.pool.acquire() as connection, connection.transaction():
            cursor = await self.store.checkpoint(self.name, connection=connection, lock=True)
            applied = await self._apply_batch(connection, self.projection.read_schema, cursor)
            if applied is not None:
                await self.store.save_checkpoint(self.name, applied[0], connection=connection)
                return applied[1]
            return 0

    async def behind(self) -> int:
        events, _ = await self.store.events_after(await self.store.checkpoint(self.name))
        PROJECTION_LAG_EVENTS.labels(self.projection.name).set(events)
        return events

    async def catch_up(self) -> None:
        """Apply everything committed so far (tests and the CLI use this; the service runs `run`)."""
        while await self.step():
            pass

    async def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the read model from the whole history while the old one keeps serving.

        `progress(done, total)` is called after each batch. Returns the number of events applied.
        """
        live, building = self.projection.read_schema, f"{self.projection.read_schema}__rebuild"
        async with self.store.pool.acquire() as connection:
            async with connection.transaction():
                await connection.execute(f'DROP SCHEMA IF EXISTS "{building}" CASCADE')
                await self._create_schema(connection, building)
            total, _ = await self.store.events_after(Cursor.origin())
            cursor, done = Cursor.origin(), 0
            while True:
                async with connection.transaction():
                    applied = await self._apply_batch(connection, building, cursor)
                if applied is None:
                    break
                cursor, done = applied[0], done + applied[1]
                if progress:
                    progress(done, max(total, done))
            async with connection.transaction():
                await self.store.checkpoint(self.name, connection=connection, lock=True)
                while (applied := await self._apply_batch(connection, building, cursor)) is not None:
                    cursor, done = applied[0], done + applied[1]
                await connection.execute(f'DROP SCHEMA IF EXISTS "{live}__old" CASCADE')
                await connection.execute(f'ALTER SCHEMA "{live}" RENAME TO "{live}__old"')
                await connection.execute(f'ALTER SCHEMA "{building}" RENAME TO "{live}"')
                await connection.execute(f'DROP SCHEMA "{live}__old" CASCADE')
                await self.store.save_checkpoint(self.name, cursor, connection=connection)
            if progress:
                progress(done, max(total, done))
        log.info("projection %s rebuilt from %d events", self.projection.name, done)
        return done

    async def _create_schema(self, connection: asyncpg.Connection, schema: str) -> None:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        await connection.execute(f'SET LOCAL search_path = "{schema}", {self.store.schema}, public')
        await connection.execute(self.projection.ddl)

    async def _apply_batch(
        self, connection: asyncpg.Connection, schema: str, cursor: Cursor
    ) -> tuple[Cursor, int] | None:
        """Inside the caller's transaction: apply the next batch into `schema`; None when caught up."""
        events = await self.store.read_all(cursor, self.batch_size, connection=connection)
        if not events:
            return None
        await connection.execute(f'SET LOCAL search_path = "{schema}", {self.store.schema}, public')
        for envelope in events:
            await self._apply(envelope, connection)
        last = events[-1]
        assert last.transaction_id is not None
        return Cursor(last.transaction_id, last.position), len(events)

    async def _apply(self, envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        handler = self.projection.handlers.get(type(envelope.payload))
        if handler is not None:
            await handler(envelope, connection)
