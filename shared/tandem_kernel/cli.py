"""`tandem`: serve a service, and the ops commands that work on any of them.

tandem serve enrollment                  run one service (settings from the environment)
tandem serve                             run the service SERVICE_NAME names (a service's image sets it)
tandem migrate enrollment                apply its migrations (without a name: SERVICE_NAME's)
tandem republish enrollment              publish its whole history again (a fresh dev broker)
tandem deadletters list enrollment       what its consumers gave up on
tandem deadletters replay enrollment [ID ...] [--all]
tandem projections rebuild enrollment.participants
tandem projections parked enrollment     events its read models skipped (parked) and why
tandem projections replay enrollment [ID ...] [--all]
tandem contracts enrollment [--check]    write (or check) its published event contracts
tandem broker [--port 9092]              the development broker, in the foreground
tandem run [--first-port 8001] [--broker-port 9092] [--identity-port 9400] [--no-demo]
                                         the whole platform locally (see devrun; make run PORT= BROKER_PORT= DEMO=0)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from importlib.metadata import entry_points

from tandem_kernel.runtime import Runtime, ServiceSpec
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import Cursor

__all__ = ["HTTP_DRAIN_SECONDS", "load_service", "main", "services"]

# On SIGTERM, how long uvicorn lets in-flight requests finish before the lifespan shuts the
# service down (consumers then get CONSUMER_DRAIN_SECONDS). The Helm chart's grace period covers both.
HTTP_DRAIN_SECONDS = 20


def services() -> dict[str, ServiceSpec]:
    """Every installed service, by name (each declares an entry point in group `tandem.services`)."""
    return {point.name: point.load() for point in entry_points(group="tandem.services")}


def load_service(name: str) -> ServiceSpec:
    known = services()
    if name not in known:
        raise SystemExit(f"unknown service {name!r}; installed: {', '.join(sorted(known)) or 'none'}")
    return known[name]


class ProgressBar:
    """A one-line progress bar on stderr: `[#####-----]  50%  5,000/10,000 events`."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width

    def __call__(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        filled = int(fraction * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {fraction:4.0%} {done:,}/{total:,} events")
        sys.stderr.flush()
        if done >= total:
            sys.stderr.write("\n")


@contextlib.asynccontextmanager
async def _operating(name: str) -> AsyncIterator[Runtime]:
    """The service's database, store and consumers, without consuming or serving."""
    spec = load_service(name)
    runtime = Runtime(spec, ServiceSettings(service_name=spec.name))
    await runtime.open_for_operations()
    try:
        yield runtime
    finally:
        await runtime.close_operations()


async def _republish(name: str) -> None:
    async with _operating(name) as runtime:
        assert runtime.relay is not None and runtime.store is not None
        total, _ = await runtime.store.events_after(Cursor.origin())
        bar = ProgressBar(f"republish {name}")
        done = 0

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


async def _rebuild(qualified: str) -> None:
    service_name, _, projection_name = qualified.partition(".")
    async with _operating(service_name) as runtime:
        runners = {runner.projection.name: runner for runner in runtime.projection_runners}
        if projection_name not in runners:
            raise SystemExit(f"{service_name} has no projection {projection_name!r}; it has: {', '.join(runners)}")
        applied = await runners[projection_name].rebuild(ProgressBar(f"rebuild {qualified}"))
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

    spec = load_service(name)
    settings = ServiceSettings(service_name=spec.name)
    uvicorn.run(
        create_app(spec, settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=HTTP_DRAIN_SECONDS,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run one service").add_argument(
        "service", nargs="?", help="default: SERVICE_NAME"
    )
    commands.add_parser("migrate", help="apply a service's migrations").add_argument(
        "service", nargs="?", help="default: SERVICE_NAME"
    )
    commands.add_parser("republish", help="publish a service's whole history again").add_argument("service")
    dead = commands.add_parser("deadletters", help="list or replay dead letters")
    dead.add_argument("action", choices=["list", "replay"])
    dead.add_argument("service")
    dead.add_argument("ids", nargs="*", type=int)
    dead.add_argument("--all", action="store_true", dest="replay_all")
    projections = commands.add_parser("projections", help="rebuild a read model; list or replay parked events")
    projections.add_argument("action", choices=["rebuild", "parked", "replay"])
    projections.add_argument(
        "target", help="rebuild: service.projection (e.g. enrollment.participants); parked, replay: the service"
    )
    projections.add_argument("ids", nargs="*", type=int, help="replay: the parked events' ids")
    projections.add_argument("--all", action="store_true", dest="replay_all", help="replay: every parked event")
    published = commands.add_parser("contracts", help="write or check a service's published event contracts")
    published.add_argument("service")
    published.add_argument("--check", action="store_true", help="only say whether the checked-in ones are current")
    broker = commands.add_parser("broker", help="run the development broker in the foreground")
    broker.add_argument("--port", type=int, default=9092)
    run = commands.add_parser("run", help="the whole platform locally, with demo data")
    run.add_argument("--no-demo", action="store_true", help="start empty: no demo program")
    run.add_argument("--first-port", type=int, default=8001, help="services listen from this port up")
    run.add_argument("--broker-port", type=int, default=9092, help="the development broker's port")
    run.add_argument("--identity-port", type=int, default=9400, help="the development OpenID provider's port")
    args = parser.parse_args(argv)

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
    elif args.command == "projections" and args.action == "rebuild":
        asyncio.run(_rebuild(args.target))
    elif args.command == "projections":
        return asyncio.run(_parked(args.target, args.action, args.ids, args.replay_all))
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
