"""`tandem`: serve a service, and the ops commands that work on any of them.

tandem serve enrollment                  run one service (settings from the environment)
tandem serve                             run the service SERVICE_NAME names (a service's image sets it)
tandem migrate enrollment                apply its migrations (without a name: SERVICE_NAME's)
tandem republish enrollment              publish its whole history again (a fresh dev broker)
tandem deadletters list enrollment       what its consumers gave up on
tandem deadletters replay enrollment [ID ...] [--all]
tandem projections status [enrollment]   how far behind each read model is, parked events, problems
tandem projections rebuild enrollment.participants_v2
tandem projections parked enrollment     events its read models skipped (parked) and why
tandem projections replay enrollment [ID ...] [--all]
tandem contracts enrollment [--check]    write (or check) its published event contracts
tandem token hr                          a bearer token `make run` signed in for the demo (--list: whose)
tandem import PROGRAM people.csv         enroll a file's people through enrollment's API, with progress
tandem broker [--port 9092]              the development broker, in the foreground
tandem run [--first-port 8001] [--broker-port 9092] [--identity-port 9400] [--no-demo]
                                         the whole platform locally (see devrun; make run PORT= BROKER_PORT= DEMO=0)
tandem simulate [--size 2000]            (tandem-simulation) the platform, and a company playing a program year

Installed packages add commands through the entry-point group `tandem.commands` (see `Command`).

Each command's --help says what it does and shows an example.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from tandem_kernel.progress import Progress
from tandem_kernel.runtime import Runtime, ServiceSpec, freeze_startup_objects
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import Cursor

__all__ = ["HTTP_DRAIN_SECONDS", "Command", "commands", "installed", "load_service", "main", "services"]

# On SIGTERM, how long uvicorn lets in-flight requests finish before the lifespan shuts the
# service down (consumers then get CONSUMER_DRAIN_SECONDS). The Helm chart's grace period covers both.
HTTP_DRAIN_SECONDS = 20


def installed() -> dict[str, Callable[[], ServiceSpec]]:
    """Every installed service's name (each declares an entry point in group `tandem.services`),
    with what loads it: a service's code is imported only when it is loaded."""
    return {point.name: point.load for point in entry_points(group="tandem.services")}


def services() -> dict[str, ServiceSpec]:
    """Every installed service, loaded, by name: for tools that work on all of them (`make run`,
    images, the chaos platform), not for a process that serves one."""
    return {name: load() for name, load in installed().items()}


class Command(Protocol):
    """A subcommand another package adds (entry point in group `tandem.commands`): its name, what it
    does, examples for its --help, its arguments, and what it runs (the exit code)."""

    name: str
    summary: str
    examples: tuple[str, ...]

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def commands() -> dict[str, Command]:
    """The subcommands installed packages add, by name."""
    return {point.name: point.load() for point in entry_points(group="tandem.commands")}


def load_service(name: str) -> ServiceSpec:
    """The installed service `name`, importing its code and no other service's: each process serves
    one, and loading every service (evaluation's statistics library included) cost a process about
    100 MB and 1.5 s at start."""
    known = installed()
    if name not in known:
        raise SystemExit(f"unknown service {name!r}; installed: {', '.join(sorted(known)) or 'none'}")
    return known[name]()


@contextlib.asynccontextmanager
async def _operating(name: str) -> AsyncIterator[Runtime]:
    """The service's database, store and consumers, without consuming or serving."""
    spec = load_service(name)
    runtime = Runtime(spec, ServiceSettings(service_name=spec.name))
    await runtime.open_for_operations()
    freeze_startup_objects()
    try:
        yield runtime
    finally:
        await runtime.close_operations()


async def _republish(name: str) -> None:
    async with _operating(name) as runtime:
        assert runtime.relay is not None and runtime.store is not None
        total, _ = await runtime.store.events_after(Cursor.origin())
        done = 0
        with Progress(f"republish {name}") as bar:

            def advance(count: int) -> None:
                nonlocal done
                done += count
                bar(done, total)

            published = await runtime.relay.republish_all(progress=advance)
        print(f"republished {published:,} events of {name} to {runtime.settings.topic}")


async def _deadletters(name: str, action: str, ids: list[int], replay_all: bool) -> int:
    from tandem_kernel.consumers import replay_dead_letters
    from tandem_kernel.dead_letters import list_dead_letters

    async with _operating(name) as runtime:
        assert runtime.pool is not None
        if action == "list":
            letters = await list_dead_letters(runtime.pool)
            for letter in letters:
                print(
                    f"{letter.id:>6}  {letter.dead_at:%Y-%m-%d %H:%M:%S}  {letter.consumer:<24} "
                    f"{letter.topic}[{letter.partition}]@{letter.offset}  {letter.error_type}: {letter.error[:120]}"
                )
            print(f"{len(letters)} dead letter(s) waiting")
            return 0
        if not ids and not replay_all:
            print("say which dead letters to replay (ids) or --all", file=sys.stderr)
            return 2
        outcomes = await replay_dead_letters(runtime.pool, runtime.processors, None if replay_all else ids)
        for letter_id, outcome in outcomes.items():
            print(f"{letter_id:>6}  {outcome}")
        return 1 if "dead_lettered" in outcomes.values() else 0


REBUILD_BATCH_SIZE = 2000
"""Events applied per batch (and transaction) by `tandem projections rebuild`, at least."""


async def _rebuild(qualified: str) -> None:
    service_name, _, projection_name = qualified.partition(".")
    async with _operating(service_name) as runtime:
        runners = {runner.projection.name: runner for runner in runtime.projection_runners}
        if projection_name not in runners:
            raise SystemExit(f"{service_name} has no projection {projection_name!r}; it has: {', '.join(runners)}")
        runner = runners[projection_name]
        # A service follows in batches of a few hundred (little to apply at a time, soon applied); a
        # rebuild applies the whole history: larger batches spread each batch's statements thinner
        # (reporting's, 157,976 events: PostgreSQL's CPU 27 us an event in batches of 500, 20 in 2,000).
        runner.batch_size = max(runner.batch_size, REBUILD_BATCH_SIZE)
        with Progress(f"rebuild {qualified}") as bar:
            applied = await runner.rebuild(bar)
        print(f"rebuilt {qualified} from {applied:,} events; the new read model is live")


async def _parked(name: str, action: str, ids: list[int], replay_all: bool) -> int:
    from tandem_kernel.projections import list_parked, replay_parked

    async with _operating(name) as runtime:
        assert runtime.pool is not None
        if action == "parked":
            waiting = await list_parked(runtime.pool)
            for event in waiting:
                print(
                    f"{event.id:>6}  {event.parked_at:%Y-%m-%d %H:%M:%S}  {event.projection:<24} {event.event_type} "
                    f"#{event.position} ({event.stream_id}) after {event.attempts} attempts: {event.error[:120]}"
                )
            print(f"{len(waiting)} parked event(s) waiting")
            return 0
        if not ids and not replay_all:
            print("say which parked events to replay (ids) or --all", file=sys.stderr)
            return 2
        outcomes = await replay_parked(runtime.pool, runtime.projection_runners, None if replay_all else ids)
        for event_id, outcome in outcomes.items():
            print(f"{event_id:>6}  {outcome}")
        return 1 if "failed" in outcomes.values() else 0


async def _status(names: list[str]) -> int:
    """Each read model: events behind its source, parked events, when it last moved, its problem."""
    print(f"{'read model':<36} {'behind':>8} {'parked':>7}  {'last moved (UTC)':<20} problem")
    for name in names:
        async with _operating(name) as runtime:
            assert runtime.pool is not None
            for runner in runtime.projection_runners:
                behind = await runner.behind()
                parked = await runtime.pool.fetchval(
                    "SELECT count(*) FROM projection_dead_letters WHERE projection = $1 AND replayed_at IS NULL",
                    runner.projection.name,
                )
                moved = await runtime.pool.fetchval(
                    "SELECT updated_at FROM checkpoints WHERE name = $1", runner.projection.checkpoint_name
                )
                when = f"{moved:%Y-%m-%d %H:%M:%S}" if moved else "never"
                qualified = f"{name}.{runner.projection.name}"
                print(f"{qualified:<36} {behind:>8,} {parked:>7,}  {when:<20} {runner.problem or '-'}")
    return 0


def _token(who: str | None, *, listing: bool) -> int:
    from tandem_kernel.devrun import STATE

    path = STATE / "tokens.json"
    if not path.exists():
        print(f"no tokens at {path}: `make run` signs the demo people in and writes them there", file=sys.stderr)
        return 1
    tokens: dict[str, str] = json.loads(path.read_text())
    if listing or who is None:
        print("\n".join(sorted(tokens)))
        return 0
    if who not in tokens:
        print(f"no token for {who!r}; there are: {', '.join(sorted(tokens))}", file=sys.stderr)
        return 1
    print(tokens[who])
    return 0


async def _import(program_id: str, file: Path, url: str, token: str | None) -> int:
    import httpx

    bearer = token or _demo_token("hr")
    if bearer is None:
        print("give --token (HR or an importer), or start `make run` for its hr token", file=sys.stderr)
        return 2
    kind = "application/x-ndjson" if file.suffix in {".jsonl", ".ndjson"} else "text/csv"
    content = await asyncio.to_thread(file.read_bytes)
    headers = {"Authorization": f"Bearer {bearer}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        started = await http.post(f"/programs/{program_id}/imports", content=content, headers={"Content-Type": kind})
        if started.status_code != 202:
            print(f"refused ({started.status_code}): {started.text}", file=sys.stderr)
            return 1
        job = started.json()
        with Progress(f"import {file.name}", unit="rows") as bar:
            while not job["readable"] and job["status"] not in {"failed", "cancelled"}:
                await asyncio.sleep(0.5)
                job = (await http.get(started.headers["location"], params={"report_limit": 20})).json()
                bar(job["processed"], job["total"])
    print(
        f"{job['status']}: {job['enrolled']:,} enrolled, {job['duplicates']:,} already there, "
        f"{job['rejected']:,} rejected"
    )
    for row in job["report"]:
        print(f"  row {row['row']} ({row['outcome']}): {row['errors']}")
    return 0 if job["status"] == "completed" else 1


def _demo_token(who: str) -> str | None:
    from tandem_kernel.devrun import STATE

    path = STATE / "tokens.json"
    found = json.loads(path.read_text()).get(who) if path.exists() else None
    return str(found) if found else None


def _contracts(name: str, *, check: bool) -> int:
    from tandem_kernel.contracts import EventContracts

    spec = load_service(name)
    if spec.contracts_dir is None:
        raise SystemExit(f"{name} does not say where its contracts live (ServiceSpec.contracts_dir)")
    contracts = EventContracts.of_service(spec)
    if check:
        current = contracts.is_current(spec.contracts_dir)
        print(f"{name}: contracts are " + ("up to date" if current else f"out of date: run `tandem contracts {name}`"))
        return 0 if current else 1
    for path in contracts.write(spec.contracts_dir):
        print(f"wrote {path}")
    return 0


def _named(service: str | None) -> str:
    """The service named on the command line, else the one SERVICE_NAME names."""
    return service or ServiceSettings().service_name  # type: ignore[call-arg]  # SERVICE_NAME or a clear error


def _serve(name: str) -> None:
    import uvicorn

    from tandem_kernel.api import create_app
    from tandem_kernel.http_guard import HTTP_KEEP_ALIVE_SECONDS

    spec = load_service(name)
    settings = ServiceSettings(service_name=spec.name)
    app = create_app(spec, settings)
    freeze_startup_objects()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=HTTP_DRAIN_SECONDS,
        timeout_keep_alive=HTTP_KEEP_ALIVE_SECONDS,
    )


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, *examples: str
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and shows how it is used."""
    return commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog="examples:\n" + "\n".join(f"  {example}" for example in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="command")
    _command(
        subcommands,
        "serve",
        "Run one service: HTTP API, consumers, relay, projections and jobs.",
        "tandem serve pairing",
    ).add_argument("service", nargs="?", help="default: SERVICE_NAME")
    _command(
        subcommands, "migrate", "Apply a service's database migrations, then exit.", "tandem migrate enrollment"
    ).add_argument("service", nargs="?", help="default: SERVICE_NAME")
    _command(
        subcommands,
        "republish",
        "Publish a service's whole history again (a broker that lost it; consumers skip what they applied).",
        "tandem republish enrollment",
    ).add_argument("service")
    dead = _command(
        subcommands,
        "deadletters",
        "List the messages a service's consumers gave up on, or replay them once the cause is fixed.",
        "tandem deadletters list pairing",
        "tandem deadletters replay pairing 12 13",
        "tandem deadletters replay pairing --all",
    )
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("service")
    dead.add_argument("ids", nargs="*", type=int, help="replay: the dead letters' ids")
    dead.add_argument("--all", action="store_true", dest="replay_all", help="replay: every dead letter waiting")
    projections = _command(
        subcommands,
        "projections",
        "Read models: how far behind each is (status), rebuild one without downtime, list or replay parked events.",
        "tandem projections status                  # every installed service",
        "tandem projections status enrollment",
        "tandem projections rebuild enrollment.participants_v2",
        "tandem projections parked pairing",
        "tandem projections replay pairing --all",
    )
    projections.add_argument("action", choices=["status", "rebuild", "parked", "replay"])
    projections.add_argument(
        "target",
        nargs="?",
        help="rebuild: service.projection; parked, replay: the service; status: a service (default: all)",
    )
    projections.add_argument("ids", nargs="*", type=int, help="replay: the parked events' ids")
    projections.add_argument("--all", action="store_true", dest="replay_all", help="replay: every parked event")
    published = _command(
        subcommands,
        "contracts",
        "Write a service's published event contracts (JSON Schema, AsyncAPI), or check they are current.",
        "tandem contracts sessions",
        "tandem contracts sessions --check",
    )
    published.add_argument("service")
    published.add_argument("--check", action="store_true", help="only say whether the checked-in ones are current")
    token = _command(
        subcommands,
        "token",
        "Print a bearer token `make run` signed in for the demo (hr, ops, reporting, a participant…).",
        "tandem token hr",
        'curl -H "Authorization: Bearer $(tandem token hr)" http://127.0.0.1:8001/programs',
        "tandem token --list",
    )
    token.add_argument("who", nargs="?", help="whose token (see --list)")
    token.add_argument("--list", action="store_true", help="who has a token")
    imported = _command(
        subcommands,
        "import",
        "Enroll everyone in a CSV or JSON-lines file into a program, through enrollment's HTTP API, with progress.",
        "tandem import 1b2c…-program-id people.csv",
        "tandem import 1b2c…-program-id people.jsonl --url http://127.0.0.1:8001 --token $(tandem token hr)",
    )
    imported.add_argument("program_id")
    imported.add_argument("file", type=Path)
    imported.add_argument("--url", default="http://127.0.0.1:8001", help="enrollment's base URL (make run's)")
    imported.add_argument("--token", help="a bearer token of HR or an importer (default: make run's hr token)")
    broker = _command(
        subcommands, "broker", "Run the development broker in the foreground.", "tandem broker --port 19092"
    )
    broker.add_argument("--port", type=int, default=9092)
    run = _command(
        subcommands,
        "run",
        "The whole platform locally, with demo data: every service, the broker, the OpenID provider.",
        "tandem run",
        "tandem run --first-port 9001 --broker-port 19092 --no-demo",
    )
    run.add_argument("--no-demo", action="store_true", help="start empty: no demo program")
    run.add_argument("--first-port", type=int, default=8001, help="services listen from this port up")
    run.add_argument("--broker-port", type=int, default=9092, help="the development broker's port")
    run.add_argument("--identity-port", type=int, default=9400, help="the development OpenID provider's port")
    for added in commands().values():
        sub = _command(subcommands, added.name, added.summary, *added.examples)
        added.configure(sub)
        sub.set_defaults(added_command=added)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (added := getattr(args, "added_command", None)) is not None:
        return int(added.run(args))

    if args.command == "serve":
        _serve(_named(args.service))
    elif args.command == "migrate":
        from tandem_kernel.database import migrate

        spec = load_service(_named(args.service))
        settings = ServiceSettings(service_name=spec.name)
        applied = asyncio.run(migrate(settings.database_url, settings.schema_name, spec.migrations))
        print(f"{spec.name}: applied {len(applied)} migration(s)")
    elif args.command == "republish":
        asyncio.run(_republish(args.service))
    elif args.command == "deadletters":
        return asyncio.run(_deadletters(args.service, args.action, args.ids, args.replay_all))
    elif args.command == "projections" and args.action == "status":
        return asyncio.run(_status([args.target] if args.target else sorted(installed())))
    elif args.command == "projections" and args.target is None:
        parser.error(f"projections {args.action} needs a target")
    elif args.command == "projections" and args.action == "rebuild":
        asyncio.run(_rebuild(args.target))
    elif args.command == "projections":
        return asyncio.run(_parked(args.target, args.action, args.ids, args.replay_all))
    elif args.command == "token":
        return _token(args.who, listing=args.list)
    elif args.command == "import":
        return asyncio.run(_import(args.program_id, args.file, args.url, args.token))
    elif args.command == "contracts":
        return _contracts(args.service, check=args.check)
    elif args.command == "broker":
        from tandem_kernel.devbroker import DevBroker

        with DevBroker(port=args.port) as running, contextlib.suppress(KeyboardInterrupt):
            print(f"development broker on {running.bootstrap_servers} (Ctrl-C stops it)")
            running.wait()
    elif args.command == "run":
        from tandem_kernel.devrun import run_platform

        return run_platform(
            demo=not args.no_demo,
            first_port=args.first_port,
            broker_port=args.broker_port,
            identity_port=args.identity_port,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
