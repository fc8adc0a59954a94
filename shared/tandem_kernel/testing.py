"""Pytest fixtures for tests that hit real infrastructure: a fresh PostgreSQL database per test and
a real Kafka-protocol broker per session. Loaded as a plugin by the repository's conftest."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from tandem_kernel.devbroker import DevBroker, broker_for_tests
from tandem_kernel.devidentity import DevIdentity

__all__ = [
    "ADMIN_DSN",
    "ServiceProcess",
    "TokenBook",
    "broker",
    "database_url",
    "eventually",
    "free_port_block",
    "fresh_database",
    "identity",
    "own_broker",
    "serving",
    "signed_in_settings",
    "tokens",
]


def free_port_block(size: int) -> int:
    """The first of `size` consecutive ports free now, below the kernel's ephemeral range.

    A block taken from the ephemeral range (where `bind(0)` and every outgoing connection get their
    ports) races the very processes it is for: a service started first connects to PostgreSQL or the
    broker from an ephemeral port, which may be the next service's in the block (seen in CI: the
    simulation's reporting found its port taken, "address already in use")."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    bases = list(range(10_000, low - size, size))
    random.shuffle(bases)  # two runs at once rarely try the same block
    for base in bases[:200]:
        if all(_port_free(port) for port in range(base, base + size)):
            return base
    raise RuntimeError(f"no {size} consecutive free ports below {low}")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


ADMIN_DSN = os.environ.get("TANDEM_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


class fresh_database:
    """`async with fresh_database() as dsn:` a new, empty database that is dropped afterwards."""

    def __init__(self, prefix: str = "tandem_test") -> None:
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        base, _, _ = ADMIN_DSN.rpartition("/")
        self.dsn = f"{base}/{self.name}"

    async def __aenter__(self) -> str:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        return self.dsn

    async def __aexit__(self, *exc_info: object) -> None:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A DSN of a brand-new database, dropped after the test."""
    async with fresh_database() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def broker() -> Iterator[DevBroker]:
    """A real Kafka-protocol broker for the whole test session (Tansu; noida-db when
    TANDEM_TEST_BROKER=noida); use unique topic names."""
    with broker_for_tests() as running:
        yield running


class TokenBook:
    """Tokens from the test provider, by who is asking, made once each and kept for the session.

    >>> headers = await tokens.headers("hr-admin")          # a person (authorization code flow)
    >>> headers = await tokens.service_headers("platform")   # a platform (client credentials)
    """

    def __init__(self, provider: DevIdentity) -> None:
        self.provider = provider
        self._made: dict[tuple[str, str], str] = {}

    async def token(self, login: str) -> str:
        if ("person", login) not in self._made:
            self._made[("person", login)] = await self.provider.token(login)
        return self._made[("person", login)]

    async def service_token(self, client_id: str, scope: str | None = None) -> str:
        key = ("client", f"{client_id} {scope}")
        if key not in self._made:
            self._made[key] = await self.provider.service_token(client_id, scope)
        return self._made[key]

    async def headers(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(login)}"}

    async def service_headers(self, client_id: str, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.service_token(client_id, scope)}"}

    def person(
        self, login: str, *, roles: list[str], employee_id: str | None = None, programs: list[str] | None = None
    ) -> str:
        """Add (or change) a person who can sign in; returns their login."""
        self.provider.add_account(login, roles=roles, employee_id=employee_id, programs=programs)
        self._made.pop(("person", login), None)
        return login


def signed_in_settings(identity: DevIdentity) -> dict[str, str]:
    """The settings that make a service trust the test provider."""
    return {"oidc_issuer": identity.issuer, "oidc_audience": identity.audience}


@pytest.fixture(scope="session")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevIdentity]:
    """The company's OpenID provider (a real `oidc-provider`) for the whole test session, with an
    HR admin (`hr-admin`), an operator (`ops`) and a reporting reader (`reporting`) who can sign in."""
    state = tmp_path_factory.mktemp("identity")
    with DevIdentity(state_dir=state, log_file=state / "provider.log") as provider:
        provider.add_account("hr-admin", roles=["program_admin"], employee_id="HR-0001")
        provider.add_account("ops", roles=["operator"], employee_id="OPS-0001")
        provider.add_account("reporting", roles=["reporting_reader"], employee_id="REP-0001")
        yield provider


@pytest.fixture(scope="session")
def tokens(identity: DevIdentity) -> TokenBook:
    return TokenBook(identity)


@pytest.fixture
def own_broker() -> Iterator[DevBroker]:
    """A broker of the test's own, for tests that use fixed topic and consumer-group names or restart it."""
    with broker_for_tests() as running:
        yield running


class serving:
    """`async with serving(app) as base_url:` the app behind real HTTP (uvicorn) on a free port.

    Leaving the block shuts it down as SIGTERM would: the lifespan's shutdown runs to completion.
    """

    def __init__(self, app: object, port: int | None = None) -> None:
        import uvicorn

        from tandem_kernel.devbroker import free_port
        from tandem_kernel.http_guard import HTTP_KEEP_ALIVE_SECONDS

        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,  # type: ignore[arg-type]
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="on",
                timeout_keep_alive=HTTP_KEEP_ALIVE_SECONDS,  # as `tandem serve` runs it
            )
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        assert self._task is not None
        await self._task


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.05) -> None:
    """Wait until `check()` is true; fail with a clear message after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(interval)


class ServiceProcess:
    """`tandem serve <service>` in a process of its own, as a replica runs, for tests that kill one.

    >>> replica = ServiceProcess("pairing", database_url, broker.bootstrap_servers, log_dir=tmp_path).start()
    >>> await replica.ready(); replica.kill()        # SIGKILL: no goodbye
    """

    def __init__(
        self,
        service: str,
        database_url: str,
        bootstrap_servers: str,
        *,
        log_dir: Path,
        port: int | None = None,
        **env: str,
    ) -> None:
        from tandem_kernel.devbroker import free_port

        self.service = service
        self.port = port or free_port()  # a restarted replica keeps its predecessor's port
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{service}-{self.port}.log"
        self.env = {
            **os.environ,
            "SERVICE_NAME": service,
            "ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "HTTP_PORT": str(self.port),
            "LOG_FORMAT": "text",
            "RELAY_POLL_SECONDS": "0.2",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes it until it ends
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tandem_kernel.cli", "serve", self.service], env=self.env, stdout=log, stderr=log
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def ready(self, timeout: float = 60.0) -> None:
        import httpx

        async def answers() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.service} exited: {self.log_path.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.url}/readyz", timeout=2)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(answers, timeout=timeout, interval=0.2)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait: what a scale-down does. Returns the exit code."""
        if self.process is None:
            return None
        self.kill(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
