"""`ReadTable` writes a batch's rows with one upsert: every column replaced, or only some."""

from __future__ import annotations

import asyncpg
from tandem_kernel.read_tables import ReadTable

SCORES = ReadTable(
    "scores", key=("player", "game"), columns={"player": "text", "game": "int", "team": "text", "points": "int"}
)


async def test_an_upsert_replaces_every_column_or_only_those_it_is_told(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(
            "CREATE TEMP TABLE scores (player text, game int, team text, points int, PRIMARY KEY (player, game))"
        )
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
    finally:
        await connection.close()
