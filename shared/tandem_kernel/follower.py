"""Following a service's event store: the loop the relay and the store-fed projections share.

A follower leads with a PostgreSQL advisory lock (one active per name and schema across replicas),
wakes on the store's LISTEN/NOTIFY channel, polls as a fallback, and survives PostgreSQL and broker
outages by retrying with backoff. The backoff starts again from `retry_seconds` after every step
that succeeds, so an incident long ago does not slow the recovery from the next one. Subclasses say
what one step does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod

import asyncpg

from tandem_kernel.database import advisory_lock_key
from tandem_kernel.store import EventStore, notify_channel

__all__ = ["StepFailed", "StoreFollower"]

MAX_BACKOFF_SECONDS = 5.0
# After a step that took events, the next look comes this soon (or at the next NOTIFY).
SOON_SECONDS = 0.05
# While events flow, the lag gauges are refreshed this often.
GAUGE_SECONDS = 1.0


class StepFailed(Exception):
    """A step failed for a reason the follower already reported (logged, counted): retry quietly."""


log = logging.getLogger("tandem.follower")


class StoreFollower(ABC):
    """Runs `step()` whenever the store may have new events, until `stop()`."""

    def __init__(
        self,
        store: EventStore,
        *,
        name: str,
        dsn: str,
        batch_size: int,
        poll_seconds: float,
        retry_seconds: float = 0.2,
    ) -> None:
        self.store = store
        self.name = name
        self.dsn = dsn
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self._backoff = retry_seconds
        self._wake = asyncio.Event()
        self._gauged_at = 0.0
        self._stopping = asyncio.Event()
        self.is_leader = False
        self.running = False

    @abstractmethod
    async def step(self) -> int:
        """Handle the next batch after this follower's checkpoint; return how many events it took."""

    @abstractmethod
    async def behind(self) -> int:
        """How many committed events this follower has not handled yet (also updates its gauges)."""

    async def before_leading(self) -> None:  # noqa: B027 - a hook: most followers need nothing
        """Wait for what `step` needs besides PostgreSQL (the relay waits for the broker)."""

    async def run(self) -> None:
        self.running = True
        try:
            while not self._stopping.is_set():
                try:
                    await self._lead()
                except StepFailed:
                    pass
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                    log.warning("%s interrupted, retrying in %.1fs: %s", self.name, self._backoff, error)
                except Exception:
                    log.exception("%s failed, retrying in %.1fs", self.name, self._backoff)
                self.is_leader = False
                if self._stopping.is_set():
                    break
                await self._refresh_gauges()
                await self._sleep(self._backoff)
                self._backoff = min(self._backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            self.running = False

    async def _refresh_gauges(self) -> None:
        """After a failure, let the lag gauges say how far behind this follower is now."""
        try:
            async with asyncio.timeout(2):
                await self.behind()
        except Exception as error:  # PostgreSQL may be what failed: the gauges wait for the next try
            log.debug("%s could not refresh its gauges: %r", self.name, error)

    def stop(self) -> None:
        """Finish the step in flight, then return from `run()`."""
        self._stopping.set()
        self._wake.set()

    async def _lead(self) -> None:
        # What leading needs (the broker, for the relay) may never come if the service stops first.
        ready = asyncio.ensure_future(self.before_leading())
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait([ready, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not ready.done():
            ready.cancel()
            return
        ready.result()
        connection = await asyncpg.connect(self.dsn)
        try:
            lock = advisory_lock_key(f"{self.name}:{self.store.schema}")
            while not await connection.fetchval("SELECT pg_try_advisory_lock($1)", lock):
                self.following()
                if await self._sleep(self.poll_seconds * 5):
                    return
            self.is_leader = True
            await connection.add_listener(notify_channel(self.store.schema), self._on_notify)
            log.info("%s leading for schema %s", self.name, self.store.schema)
            while not self._stopping.is_set():
                # Cleared before reading, so a NOTIFY that lands during the step is not lost.
                self._wake.clear()
                taken = await self.step()
                self._backoff = self.retry_seconds
                if taken < self.batch_size:
                    await self._sleep(await self._next_look(taken), wake=True)
                if connection.is_closed():
                    raise asyncpg.InterfaceError(f"{self.name}'s listening connection was closed")
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)

    async def _next_look(self, taken: int) -> float:
        """How long to wait (unless woken) after a step that took less than a batch.

        Committed but not yet readable means an older transaction is still open (its commit may not
        notify): look again soon rather than at the next poll. Events still flowing are reason
        enough to look soon; asking PostgreSQL how far behind this follower is costs a round trip
        and a count, once a step — a third of a busy relay's statements — so while events flow it
        is asked at most once per `GAUGE_SECONDS` (the lag gauges need no more).
        """
        now = time.monotonic()
        if taken and now - self._gauged_at < GAUGE_SECONDS:
            return SOON_SECONDS
        self._gauged_at = now
        return SOON_SECONDS if await self.behind() else self.poll_seconds

    def following(self) -> None:
        """Called while another replica leads (this one waits for the lock)."""
        self.is_leader = False

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float, *, wake: bool = False) -> bool:
        """Sleep up to `seconds` (less when woken by NOTIFY, if `wake`); True if stopping."""
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        if wake:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        _, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        return self._stopping.is_set()
