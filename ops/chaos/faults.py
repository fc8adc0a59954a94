"""The faults chaos injects, one at a time, each logged with what it did."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import asyncpg
from tandem_kernel.testing import ADMIN_DSN

from ops.chaos.platform import KAFKA_SESSION_TIMEOUT_SECONDS, Platform

__all__ = ["FAULTS", "Faults"]


class Faults:
    def __init__(self, platform: Platform, rng: random.Random, log: Callable[[str], None]) -> None:
        self.platform, self.rng, self.log = platform, rng, log
        self.injected: Counter[str] = Counter()

    async def run(self, stop: asyncio.Event, every: float, kinds: Sequence[str]) -> None:
        """Until `stop`: a fault every `every` seconds, each of `kinds` in turn first, then at random."""
        order = [*kinds, *(self.rng.choice(kinds) for _ in range(1000))]
        for kind in order:
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
                return
            except TimeoutError:
                pass
            started = time.monotonic()
            what = await FAULTS[kind](self)
            self.injected[kind] += 1
            self.log(f"fault {kind}: {what} ({time.monotonic() - started:.1f} s)")

    async def kill_replica(self) -> str:
        """SIGKILL: no goodbye, leases and partitions held until they time out; then a replacement."""
        name, index = self.platform.pick(self.rng)
        victim = self.platform.replicas[name][index]
        victim.kill(signal.SIGKILL)
        await asyncio.sleep(self.rng.uniform(0.5, 3))
        replacement = self.platform.restart(name, index)
        await replacement.ready(timeout=120)
        return f"{name} replica {index} (pid {victim.pid}) killed, replaced by pid {replacement.pid}"

    async def restart_broker(self) -> str:
        """The broker dies; it comes back empty where it keeps nothing, with its data where it keeps it."""
        broker = self.platform.broker
        broker.kill()
        await asyncio.sleep(self.rng.uniform(0.5, 2))
        await asyncio.to_thread(broker.restart, empty=not broker.keeps_data)
        return f"broker killed and restarted {'with its data' if broker.keeps_data else 'empty'}"

    async def terminate_connections(self) -> str:
        """Every database connection of a service's replicas, terminated by the server."""
        name = self.rng.choice(self.platform.services)
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            ended = await admin.fetchval(
                # Its own database only: a `make run` or another test on the same server runs
                # services of the same names.
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = $2 AND pid <> pg_backend_pid()",
                f"tandem-{name}",
                urlsplit(self.platform.databases[name]).path.lstrip("/"),
            )
        finally:
            await admin.close()
        return f"{ended} connections of {name} terminated"

    async def pause_replica(self) -> str:
        """SIGSTOP past the consumer group's session timeout: its partitions and leases move; then
        SIGCONT — a zombie that must notice it lost them."""
        name, index = self.platform.pick(self.rng)
        victim = self.platform.replicas[name][index]
        victim.kill(signal.SIGSTOP)
        await asyncio.sleep(KAFKA_SESSION_TIMEOUT_SECONDS + 3)
        victim.kill(signal.SIGCONT)
        return f"{name} replica {index} (pid {victim.pid}) paused {KAFKA_SESSION_TIMEOUT_SECONDS + 3} s, resumed"


FAULTS: dict[str, Callable[[Faults], Awaitable[str]]] = {
    "kill_replica": Faults.kill_replica,
    "restart_broker": Faults.restart_broker,
    "terminate_connections": Faults.terminate_connections,
    "pause_replica": Faults.pause_replica,
}
