"""The platform chaos runs against: every installed service as replicas, the broker, the OpenID provider."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from tandem_kernel.cli import installed
from tandem_kernel.devbroker import DevBroker, broker_for_tests
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.testing import ServiceProcess, TokenBook, fresh_database

__all__ = ["Platform"]

# Short enough that a paused replica loses its partitions (and its job leases) within a fault.
KAFKA_SESSION_TIMEOUT_SECONDS = 10
JOB_LEASE_SECONDS = 3
TOPIC_PARTITIONS = 2


@dataclass
class Platform:
    logs: Path
    replicas_per_service: int
    only: tuple[str, ...] = ()  # these installed services only (default: every one)
    # Frugal pools by default: PostgreSQL's default 100 connections serve every replica, their
    # followers' listeners, the checker, and whatever else runs on the machine. The load bench runs
    # one replica each with the chart's default pool instead.
    pool_max: int = 3
    replicas_of: dict[str, int] = field(default_factory=dict)  # per service, instead of replicas_per_service
    broker: DevBroker = field(init=False)
    identity: DevIdentity = field(init=False)
    tokens: TokenBook = field(init=False)
    databases: dict[str, str] = field(default_factory=dict)
    replicas: dict[str, list[ServiceProcess]] = field(default_factory=dict)
    _exit: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def services(self) -> list[str]:
        return sorted(self.replicas)

    async def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.broker = self._exit.enter_context(broker_for_tests(log_file=self.logs / "broker.log"))
        self.identity = DevIdentity(state_dir=self.logs / "identity", log_file=self.logs / "identity.log").start()
        self._exit.callback(self.identity.stop)
        self.identity.add_account("hr-admin", roles=["program_admin"], employee_id="HR-0001")
        self.tokens = TokenBook(self.identity)
        for name in sorted(name for name in installed() if not self.only or name in self.only):
            self.databases[name] = await self._exit.enter_async_context(fresh_database(f"tandem_chaos_{name}"))
            count = self.replicas_of.get(name, self.replicas_per_service)
            self.replicas[name] = [self._replica(name) for _ in range(count)]
        self._exit.callback(self._stop_replicas)
        for replicas in self.replicas.values():
            for replica in replicas:
                replica.start()
        for replicas in self.replicas.values():
            for replica in replicas:
                await replica.ready(timeout=120)

    async def close(self) -> None:
        await self._exit.aclose()

    def _replica(self, name: str, port: int | None = None) -> ServiceProcess:
        env = {
            "OIDC_ISSUER": self.identity.issuer,
            "OIDC_AUDIENCE": self.identity.audience,
            "KAFKA_TOPIC_PARTITIONS": str(TOPIC_PARTITIONS),
            "JOB_LEASE_SECONDS": str(JOB_LEASE_SECONDS),
            "RELAY_TOPIC_CHECK_SECONDS": "2",
            "DATABASE_POOL_MIN": "1",
            "DATABASE_POOL_MAX": str(self.pool_max),
            **self.broker.service_environment(),
        }
        if self.broker.supports_idempotence:  # the production producer settings, where the broker has them
            env["KAFKA_IDEMPOTENT_PRODUCER"] = "true"
        return ServiceProcess(
            name, self.databases[name], self.broker.bootstrap_servers, log_dir=self.logs, port=port, **env
        )

    def urls(self, name: str) -> list[str]:
        return [replica.url for replica in self.replicas[name]]

    def pick(self, rng: random.Random) -> tuple[str, int]:
        name = rng.choice(self.services)
        return name, rng.randrange(len(self.replicas[name]))

    def restart(self, name: str, index: int) -> ServiceProcess:
        """A new process in place of a dead one, on the same port (as a pod's replacement behind its Service)."""
        old = self.replicas[name][index]
        replacement = self._replica(name, port=old.port).start()
        self.replicas[name][index] = replacement
        return replacement

    def settings(self, name: str) -> ServiceSettings:
        return ServiceSettings(
            service_name=name,
            environment="test",
            database_url=self.databases[name],
            kafka_bootstrap_servers=self.broker.bootstrap_servers,
            kafka_topic_partitions=TOPIC_PARTITIONS,
            database_pool_min=1,
            database_pool_max=2,
            oidc_issuer=self.identity.issuer,
            oidc_audience=self.identity.audience,
        )

    async def connect(self, name: str) -> asyncpg.Connection:
        connection: asyncpg.Connection = await asyncpg.connect(
            self.databases[name], server_settings={"search_path": name, "application_name": "tandem-chaos-checker"}
        )
        return connection

    def _stop_replicas(self) -> None:
        for replicas in self.replicas.values():
            for replica in replicas:
                replica.kill(18)  # SIGCONT first: a paused replica cannot act on SIGTERM
                replica.stop(timeout=20)
