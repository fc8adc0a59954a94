"""Read-model tables loaded and written a batch at a time, for `Projection(batch=...)` handlers.

A batch handler that wants the speed of a few statements per batch, yet the plain meaning of one
change per event, does three things: load the rows the batch touches (one `= ANY($1)` query per
table), fold the events over them in Python, and write back every row it changed: with one upsert
per table (`INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE`), or (`write_back`) the rows
it built with a `COPY` and only those it loaded with the upsert. `ReadTable` is the I/O of the first
and last step; the fold in between is the read model's own pure code.

Rows are plain dicts keyed by column name. jsonb columns travel as JSON text both ways (asyncpg's
default), so a row loaded and written back unchanged is byte-for-byte what a handler would write.
A key of several columns (`key=("program_id", "participant_id")`) keys rows by a tuple of values.

Counters kept on write use `add` instead of `upsert`: each row is a delta, added to the stored
values (PostgreSQL does the sums, exactly for numeric columns), so nothing needs loading first.

>>> programs = ReadTable("programs", key="program_id", columns={"program_id": "uuid", "terms": "jsonb"})
>>> rows = await programs.load(connection, program_ids)      # {program_id: {"program_id": ..., ...}}
>>> await programs.upsert(connection, changed_rows)
>>> await programs.write_back(connection, changed_rows, loaded=rows.keys())  # built: COPY; loaded: upsert
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import asyncpg

__all__ = ["ReadTable", "Row"]

Row = dict[str, Any]
"""One row of a read-model table, by column name."""


@dataclass(frozen=True)
class ReadTable:
    """A read-model table named without a schema (the projection runner sets `search_path`).

    `columns` maps every column written to its PostgreSQL type, the primary key `key` (one column or
    a tuple of them) among them. Generated columns are left out: they are read by queries, not here.
    """

    name: str
    key: str | tuple[str, ...]
    columns: Mapping[str, str]

    @property
    def key_columns(self) -> tuple[str, ...]:
        return (self.key,) if isinstance(self.key, str) else self.key

    def key_of(self, row: Mapping[str, Any]) -> Any:
        """A row's key: the value of its key column, or the tuple of them."""
        return row[self.key] if isinstance(self.key, str) else tuple(row[column] for column in self.key)

    async def load(self, connection: asyncpg.Connection, keys: Collection[Any]) -> dict[Any, Row]:
        """The rows whose key is in `keys` (those that exist), by key."""
        if not keys:
            return {}
        if isinstance(self.key, str):
            return await self._fetch(connection, f"{self.key} = ANY($1::{self.columns[self.key]}[])", list(keys))
        listed = ", ".join(self.key)
        arrays = ", ".join(f"${n}::{self.columns[column]}[]" for n, column in enumerate(self.key, start=1))
        values = [[key[n] for key in keys] for n in range(len(self.key))]
        return await self._fetch(connection, f"({listed}) IN (SELECT * FROM unnest({arrays}))", *values)

    async def load_by(self, connection: asyncpg.Connection, column: str, values: Collection[Any]) -> dict[Any, Row]:
        """The rows whose `column` (indexed, one hopes) is in `values`, by key."""
        if not values:
            return {}
        return await self._fetch(connection, f"{column} = ANY($1::{self.columns[column]}[])", list(values))

    async def _fetch(self, connection: asyncpg.Connection, condition: str, *args: Any) -> dict[Any, Row]:
        # Planned for each batch, not once: a plan cached while the table was empty (a rebuild's fresh
        # schema) scans it whole, and every batch of a long catch-up would then cost more than the last.
        await connection.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await connection.fetch(f"SELECT {', '.join(self.columns)} FROM {self.name} WHERE {condition}", *args)
        key = itemgetter(*self.key_columns)  # a row's key, as `key_of` (a tuple for several columns)
        return {key(row): dict(row) for row in rows}

    async def upsert(
        self, connection: asyncpg.Connection, rows: Iterable[Row], *, updating: Collection[str] | None = None
    ) -> None:
        """Insert these rows, or replace every column of those whose key exists: one statement.

        With `updating`, a row whose key exists has only those columns replaced (the others keep
        what is stored): a handler that never reads a table's rows back can write what a batch's
        events set without loading the rows first.
        """
        await self._write(connection, rows, "{name} = excluded.{name}", updating)

    async def insert(self, connection: asyncpg.Connection, rows: Iterable[Row]) -> None:
        """Insert rows none of which exists yet: one binary `COPY`. For the rows a batch built itself
        (it loaded their keys and found nothing; the runner is the table's only writer): an upsert
        looks for each key before inserting, and its arrays cost more to build and to take apart
        (participants' rows, batches of 1,000: PostgreSQL 13.3 us a row upserted, 10.9 copied; the
        client 5.4 and 3.0 — BENCHMARKS.md, read models). A row whose key exists fails, as an `INSERT`."""
        columns = list(self.columns)
        values = itemgetter(*columns)
        records = [values(row) for row in rows] if len(columns) > 1 else [(row[columns[0]],) for row in rows]
        if records:
            await connection.copy_records_to_table(self.name, records=records, columns=columns)

    async def write_back(self, connection: asyncpg.Connection, rows: Iterable[Row], *, loaded: Collection[Any]) -> None:
        """Write the rows a batch changed, `loaded` being the keys it loaded: the rows it built (their
        keys were not stored) with `insert`, the others with `upsert`."""
        built: list[Row] = []
        changed: list[Row] = []
        for row in rows:
            (changed if self.key_of(row) in loaded else built).append(row)
        await self.insert(connection, built)
        await self.upsert(connection, changed)

    async def add(self, connection: asyncpg.Connection, rows: Iterable[Row]) -> None:
        """Insert these rows, or add their values to those of the rows whose key exists: one statement."""
        await self._write(connection, rows, f"{{name}} = {self.name}.{{name}} + excluded.{{name}}")

    async def _write(
        self, connection: asyncpg.Connection, rows: Iterable[Row], update: str, updating: Collection[str] | None = None
    ) -> None:
        rows = list(rows)
        if not rows:
            return
        if len(self.columns) == 1:
            arrays = [[row[column] for row in rows] for column in self.columns]
        else:  # column by column, the values of the rows (zip(*...) turns rows of values into columns)
            arrays = [list(values) for values in zip(*map(itemgetter(*self.columns), rows), strict=True)]
        await connection.execute(self._upsert_sql(update, updating), *arrays)

    def _upsert_sql(self, update: str, updating: Collection[str] | None = None) -> str:
        names = list(self.columns)
        arrays = ", ".join(
            f"${n}::{'text' if kind == 'jsonb' else kind}[]" for n, kind in enumerate(self.columns.values(), start=1)
        )
        values = ", ".join(f"{name}::jsonb" if kind == "jsonb" else name for name, kind in self.columns.items())
        updated = [name for name in names if name not in self.key_columns and (updating is None or name in updating)]
        updates = ", ".join(update.format(name=name) for name in updated)
        listed = ", ".join(names)
        return (
            f"INSERT INTO {self.name} ({listed}) SELECT {values} FROM unnest({arrays}) AS r({listed})"
            f" ON CONFLICT ({', '.join(self.key_columns)}) DO {f'UPDATE SET {updates}' if updates else 'NOTHING'}"
        )
