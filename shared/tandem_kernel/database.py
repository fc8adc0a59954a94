"""Connection pools and migrations for a service's own schema."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg

__all__ = ["CONNECTION_ERRORS", "Migrations", "advisory_lock_key", "create_pool", "migrate", "reading"]

# asyncpg's own errors about the state of a connection (it dropped, or was left mid-operation):
# a fresh connection from the pool usually cures them.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


def advisory_lock_key(name: str) -> int:
    """A stable 64-bit key for `pg_advisory_lock`, derived from a readable name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Skip asyncpg's default reset round trip on every release (UNLISTEN, RESET ALL, unlock all).

    Pooled connections hold no session state here: settings are `SET LOCAL`, advisory locks and
    LISTEN live on dedicated connections. asyncpg still rolls back a transaction left open.
    """


async def create_pool(dsn: str, schema: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see `schema` first, so SQL never spells the schema out."""
    pool = await asyncpg.create_pool(
        dsn,
        reset=_keep_session,
        min_size=min_size,
        max_size=max_size,
        server_settings={
            "search_path": f"{schema},public",
            "application_name": f"tandem-{schema}",
            # A transaction left open holds back every gap-safe reader on the server (see store.py).
            "idle_in_transaction_session_timeout": "30s",
        },
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def reading(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection for one answer from read models: a read-only snapshot, so all its figures come
    from the same moment; plans made for the parameters given — after five runs the server may pick
    a generic plan, and the generic plan of an optional filter (`$2 IS NULL OR department = $2`)
    reads every row of the program (seen: 1.3 s instead of 10 ms, and a participants page costing
    11 ms of PostgreSQL's CPU); no JIT, whose compile time exceeds these queries' run time."""
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read", readonly=True):
        await connection.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
        yield connection


class Migrations:
    """An ordered set of `NNNN_name.sql` files inside a package directory."""

    def __init__(self, package: str, directory: str = "migrations") -> None:
        self.package = package
        self.directory = directory

    def files(self) -> list[Traversable]:
        folder = resources.files(self.package).joinpath(self.directory)
        return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


KERNEL_MIGRATIONS = Migrations("tandem_kernel")


async def migrate(
    dsn: str,
    schema: str,
    migrations: Sequence[Migrations] = (),
    *,
    then: Sequence[Callable[[asyncpg.Connection], Awaitable[None]]] = (),
) -> list[str]:
    """Create `schema` and apply the kernel's and the given migrations once each, in order; then run
    `then` (e.g. create projections' read schemas) while still holding the lock.

    Safe to run from several replicas at once: an advisory lock makes them take turns, so replicas
    starting together never race to create the same schema. Returns the names applied now.
    """
    connection = await asyncpg.connect(dsn, server_settings={"search_path": f"{schema},public"})
    applied: list[str] = []
    try:
        lock = advisory_lock_key(f"migrate:{schema}")
        await connection.execute("SELECT pg_advisory_lock($1)", lock)
        try:
            await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row["name"] for row in await connection.fetch("SELECT name FROM schema_migrations")}
            for group in (KERNEL_MIGRATIONS, *migrations):
                for file in group.files():
                    name = f"{group.package}/{file.name}"
                    if name in done:
                        continue
                    sql = file.read_text()
                    async with connection.transaction():
                        await connection.execute(sql)
                        await connection.execute(
                            "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                            name,
                            hashlib.sha256(sql.encode()).hexdigest(),
                        )
                    applied.append(name)
            for step in then:
                await step(connection)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", lock)
    finally:
        await connection.close()
    return applied
