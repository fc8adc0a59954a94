"""The ops commands, run as `tandem ...` would run them, against real PostgreSQL and the broker."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import pytest
from kernel.counter_service import service
from kernel.events_for_tests import CounterIncremented, registry
from kernel.test_relay_and_consumers import read_topic
from tandem_kernel import cli
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.events import NewEvent
from tandem_kernel.projections import ProjectionRunner, list_parked
from tandem_kernel.store import EventStore
from tandem_kernel.testing import eventually

pytestmark = pytest.mark.broker


@pytest.fixture
def counters_installed(monkeypatch: pytest.MonkeyPatch, database_url: str, own_broker: DevBroker) -> None:
    # The counters service is a test double of an installed service: discovery is by entry point.
    monkeypatch.setattr(cli, "installed", lambda: {"counters": lambda: service})
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", own_broker.bootstrap_servers)
    monkeypatch.setenv("KAFKA_TOPIC_PARTITIONS", "1")


async def counters_store(database_url: str) -> EventStore:
    await migrate(database_url, "counters")
    return EventStore(await create_pool(database_url, "counters"), schema="counters", registry=registry())


async def test_republish_sends_a_services_whole_history_to_its_topic_again(
    counters_installed: None, database_url: str, own_broker: DevBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await counters_store(database_url)
    for n in range(3):
        await store.append(f"c{n}", 0, [NewEvent(CounterIncremented(by=n, reason="x"))])
    await store.pool.close()

    await cli._republish("counters")

    records = await read_topic(own_broker.bootstrap_servers, "tandem.counters.v1", 3)
    assert sorted(r.key for r in records) == [b"c0", b"c1", b"c2"]
    assert "republished 3 events" in capsys.readouterr().out

    # Right after the broker restarted empty, at the first attempt (it used to fail with UnknownError).
    own_broker.restart(empty=True)
    await cli._republish("counters")
    records = await read_topic(own_broker.bootstrap_servers, "tandem.counters.v1", 3)
    assert sorted(r.key for r in records) == [b"c0", b"c1", b"c2"]


async def test_deadletters_are_listed_and_replayed_through_their_consumer(
    counters_installed: None, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await migrate(database_url, "counters")
    event_id = str(uuid4())
    document = {
        "event_id": event_id,
        "event_type": "test.CounterIncremented",
        "event_version": 2,
        "stream_id": "c1",
        "stream_version": 1,
        "position": 1,
        "occurred_at": "2026-11-26T10:00:00Z",
        "payload": {"by": 2, "reason": "x"},
    }
    headers = {"ce_id": event_id, "ce_type": "test.CounterIncremented", "ce_source": "/t", "ce_specversion": "1.0"}
    connection = await asyncpg.connect(database_url, server_settings={"search_path": "counters"})
    await connection.execute(
        "INSERT INTO dead_letters (consumer, topic, kafka_partition, kafka_offset, message_key, message_value,"
        " headers, error_type, error, attempts) VALUES ('counters.echo', 'tandem.counters.v1', 0, 7, 'c1', $1,"
        " $2::jsonb, 'RuntimeError', 'a bug since fixed', 3)",
        json.dumps(document).encode(),
        json.dumps(headers),
    )

    assert await cli._deadletters("counters", "list", [], False) == 0
    listed = capsys.readouterr().out
    assert await cli._deadletters("counters", "replay", [], True) == 0
    replayed = capsys.readouterr().out

    assert "counters.echo" in listed and "RuntimeError: a bug since fixed" in listed and "1 dead letter(s)" in listed
    assert "handled" in replayed
    assert await connection.fetchval("SELECT count(*) FROM consumed WHERE event_id = $1", UUID(event_id)) == 1
    assert await connection.fetchval("SELECT replayed_at IS NOT NULL FROM dead_letters") is True
    await connection.close()


async def test_parked_events_are_listed_and_replayed_into_their_read_model_once_the_cause_is_fixed(
    counters_installed: None, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await counters_store(database_url)
    await store.append("c9", 0, [NewEvent(CounterIncremented(by=4, reason="x"))])
    async with cli._operating("counters"):  # creates the read model's table, as a booting service would
        pass
    [projection] = service.projections
    # A read model that refuses the event (a bug, say): its runner parks it and goes on.
    await store.pool.execute("ALTER TABLE counters_read.totals ADD CONSTRAINT small CHECK (total < 3)")
    runner = ProjectionRunner(projection, store, dsn=database_url, max_attempts=1, retry_seconds=0.01)
    running = asyncio.create_task(runner.run())
    await eventually(lambda: _parked_any(store.pool))
    runner.stop()
    await running

    assert await cli._parked("counters", "parked", [], False) == 0
    listing = capsys.readouterr().out
    assert "totals" in listing and "test.CounterIncremented" in listing and "(c9)" in listing and "small" in listing
    assert "1 parked event(s) waiting" in listing

    await store.pool.execute("ALTER TABLE counters_read.totals DROP CONSTRAINT small")  # the fix
    assert await cli._parked("counters", "replay", [], True) == 0
    assert "applied" in capsys.readouterr().out
    assert await store.pool.fetchval("SELECT total FROM counters_read.totals WHERE stream_id = 'c9'") == 4
    assert await list_parked(store.pool) == []
    await store.pool.close()


async def _parked_any(pool: asyncpg.Pool) -> bool:
    return bool(await list_parked(pool))


async def test_a_rebuild_applies_the_history_in_batches_of_at_least_two_thousand(
    counters_installed: None, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await counters_store(database_url)
    for n in range(3):
        await store.append(f"c{n}", 0, [NewEvent(CounterIncremented(by=n, reason="x"))])
    await store.pool.close()
    batch_sizes = []
    rebuild = ProjectionRunner.rebuild

    async def noting_the_batch_size(runner: ProjectionRunner, *args: object) -> int:
        batch_sizes.append(runner.batch_size)
        return await rebuild(runner, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ProjectionRunner, "rebuild", noting_the_batch_size)

    await cli._rebuild("counters.totals")

    assert batch_sizes == [cli.REBUILD_BATCH_SIZE] and cli.REBUILD_BATCH_SIZE >= 2000
    assert "rebuilt counters.totals from 3 events" in capsys.readouterr().out


async def test_rebuild_of_an_unknown_projection_says_which_exist(counters_installed: None) -> None:
    with pytest.raises(SystemExit, match="it has: totals"):
        await cli._rebuild("counters.nope")


def test_contracts_are_written_then_checked_and_a_stale_copy_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counters = replace(service, contracts_dir=tmp_path)
    monkeypatch.setattr(cli, "installed", lambda: {"counters": lambda: counters})

    assert cli._contracts("counters", check=True) == 1  # nothing checked in yet
    assert cli._contracts("counters", check=False) == 0
    assert cli._contracts("counters", check=True) == 0
    (tmp_path / "asyncapi.json").write_text("{}")
    assert cli._contracts("counters", check=True) == 1

    output = capsys.readouterr().out
    assert "wrote" in output and "out of date: run `tandem contracts counters`" in output


def test_a_process_serving_one_service_imports_no_other_service() -> None:
    # Each process serves one service; importing every installed one (evaluation's statistics
    # library with it) cost each process about 100 MB and 1.5 s at start.
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tandem_kernel.cli import load_service; load_service('enrollment');"
            " print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert "tandem_enrollment" in imported
    assert not {"tandem_evaluation", "tandem_pairing", "tandem_reporting", "tandem_sessions", "scipy"} & set(imported)
    assert set(cli.installed()) >= {"enrollment", "evaluation", "pairing", "reporting", "sessions"}


def test_an_unknown_service_is_refused_with_the_names_of_those_installed() -> None:
    with pytest.raises(SystemExit, match=r"unknown service 'nope'; installed: .*enrollment"):
        cli.load_service("nope")


def test_every_command_says_what_it_does_and_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli._parser()
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]

    assert {"serve", "projections", "token", "import", "run"} <= set(commands.choices)
    for name, command in commands.choices.items():
        text = command.format_help()
        assert command.description, name
        assert f"tandem {name}" in text.split("examples:")[1], name


async def test_projection_status_says_how_far_behind_each_read_model_is(
    counters_installed: None, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await counters_store(database_url)
    for n in range(4):
        await store.append(f"s{n}", 0, [NewEvent(CounterIncremented(by=1, reason="x"))])
    await store.pool.close()

    assert await cli._status(["counters"]) == 0

    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("counters.")]
    _, behind, parked, *_ = line.split()
    assert (behind, parked) == ("4", "0")  # nothing has applied them: no service runs


def test_token_prints_the_demo_token_asked_for_and_says_who_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli._token("hr", listing=False) == 1
    assert "make run" in capsys.readouterr().err

    (tmp_path / ".tandem").mkdir()
    (tmp_path / ".tandem" / "tokens.json").write_text(json.dumps({"hr": "eyJ.hr", "ops": "eyJ.ops"}))
    assert cli._token("hr", listing=False) == 0
    assert capsys.readouterr().out.strip() == "eyJ.hr"
    assert cli._token("nobody", listing=False) == 1
    assert "hr, ops" in capsys.readouterr().err
    assert cli._token(None, listing=True) == 0
    assert capsys.readouterr().out.split() == ["hr", "ops"]
