"""`ReadTable` writes a batch's rows with one statement: an upsert (every column replaced, or only some), a COPY
of new rows, or both as the batch loaded them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from tandem_kernel.read_tables import ReadTable


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection with its own (temporary) scores table."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "CREATE TEMP TABLE scores (player text, game int, team text, points int, PRIMARY KEY (player, game))"
        )
        yield connection
    finally:
        await connection.close()


SCORES = ReadTable(
    "scores", key=("player", "game"), columns={"player": "text", "game": "int", "team": "text", "points": "int"}
)


async def test_an_upsert_replaces_every_column_or_only_those_it_is_told(connection: asyncpg.Connection) -> None:
    await SCORES.upsert(connection, [{"player": "ana", "game": 1, "team": "red", "points": 3}])

    await SCORES.upsert(
        connection,
        [
            {"player": "ana", "game": 1, "team": "blue", "points": 5},
            {"player": "bo", "game": 1, "team": "blue", "points": 2},
        ],
        updating=("points",),
    )
    assert await SCORES.load(connection, [("ana", 1), ("bo", 1)]) == {
        ("ana", 1): {"player": "ana", "game": 1, "team": "red", "points": 5},  # the team it had stays
        ("bo", 1): {"player": "bo", "game": 1, "team": "blue", "points": 2},
    }

    await SCORES.upsert(connection, [{"player": "ana", "game": 1, "team": "blue", "points": 7}])
    assert (await SCORES.load(connection, [("ana", 1)]))[("ana", 1)]["team"] == "blue"

    await SCORES.upsert(connection, [{"player": "ana", "game": 1, "team": "green", "points": 0}], updating=())
    assert (await SCORES.load(connection, [("ana", 1)]))[("ana", 1)] == {
        "player": "ana",
        "game": 1,
        "team": "blue",
        "points": 7,
    }


async def test_an_insert_copies_new_rows_and_fails_on_a_key_that_exists(connection: asyncpg.Connection) -> None:
    await SCORES.insert(
        connection,
        [
            {"player": "ana", "game": 1, "team": "red", "points": 3},
            {"player": "bo", "game": 2, "team": None, "points": 0},
        ],
    )
    await SCORES.insert(connection, [])
    assert await SCORES.load(connection, [("ana", 1), ("bo", 2)]) == {
        ("ana", 1): {"player": "ana", "game": 1, "team": "red", "points": 3},
        ("bo", 2): {"player": "bo", "game": 2, "team": None, "points": 0},
    }

    with pytest.raises(asyncpg.UniqueViolationError):
        await SCORES.insert(connection, [{"player": "ana", "game": 1, "team": "blue", "points": 5}])


async def test_writing_back_inserts_the_rows_not_loaded_and_upserts_those_loaded(
    connection: asyncpg.Connection,
) -> None:
    await SCORES.insert(connection, [{"player": "ana", "game": 1, "team": "red", "points": 3}])
    loaded = await SCORES.load(connection, [("ana", 1), ("bo", 1)])
    loaded[("ana", 1)]["points"] = 4

    changed = [loaded[("ana", 1)], {"player": "bo", "game": 1, "team": "blue", "points": 2}]
    await SCORES.write_back(connection, changed, loaded=loaded.keys())

    assert await SCORES.load(connection, [("ana", 1), ("bo", 1)]) == {
        ("ana", 1): {"player": "ana", "game": 1, "team": "red", "points": 4},
        ("bo", 1): {"player": "bo", "game": 1, "team": "blue", "points": 2},
    }
    with pytest.raises(asyncpg.UniqueViolationError):  # "not loaded" must mean "not stored"
        await SCORES.write_back(connection, changed, loaded=())
