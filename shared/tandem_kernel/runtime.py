"""The service runtime: one way to boot any Tandem service.

A service describes itself with a `ServiceSpec` (its events, migrations, HTTP routers, subscriptions
and projections); `Runtime` brings it up and down in the FastAPI lifespan:

    PostgreSQL (retried until reachable) → migrations → pool, store, projections
    → subscriptions registered → broker connected (retried; the service serves meanwhile)
    → relay publishing.

Nothing waits on the broker or the database to answer HTTP: `/healthz` is always alive and
`/readyz` tells what is missing. Shutdown (SIGTERM via uvicorn) stops taking messages, lets
in-flight handlers and the relay's batch finish, then closes connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from fastapi import APIRouter
from faststream.kafka import KafkaBroker

from tandem_kernel.clock import Clock, SystemClock
from tandem_kernel.consumers import MessageProcessor, Subscription
from tandem_kernel.database import Migrations, create_pool, migrate
from tandem_kernel.devclock import SharedClock
from tandem_kernel.events import EventRegistry
from tandem_kernel.identity import TokenVerifier
from tandem_kernel.inbox import InboxSource
from tandem_kernel.jobs import JobKind, JobWorker, jobs_channel
from tandem_kernel.kafka import RelayProducer, TopicKeeper, build_broker, dead_letter_publisher, subscribe
from tandem_kernel.metrics import BACKGROUND_STOPS
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import Projection, ProjectionRunner
from tandem_kernel.relay import OutboxRelay
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.telemetry import configure_logging, configure_tracing

__all__ = ["Readiness", "Runtime", "ServiceSpec", "freeze_startup_objects"]

log = logging.getLogger("tandem.runtime")


def freeze_startup_objects() -> None:
    """Exempt what the process holds once the service is composed from the garbage collector.

    Call it once per process, after composing the service and before serving. Modules, pydantic's
    validators and schemas are a few hundred thousand objects that live as long as the process, and
    every full collection walked them all again: decoding events allocates fast enough to trigger
    one every few batches, and collecting took a third of the process's CPU while a read model
    caught up (measured: BENCHMARKS.md, "Read models"). Objects made later are collected as before.
    """
    gc.freeze()


@dataclass(frozen=True)
class ServiceSpec:
    """What a service is made of. Each service's `entrypoints/app.py` declares one, and nothing else
    needs to know how it boots.

    `subscriptions` and `projections` are factories of the runtime, so their handlers can close over
    the service's store or settings.
    """

    name: str
    title: str
    registry: EventRegistry
    migrations: Sequence[Migrations] = ()
    routers: Sequence[APIRouter] = ()
    subscriptions: Callable[[Runtime], Sequence[Subscription]] = lambda runtime: ()
    projections: Sequence[Projection] = ()
    # Kinds of background job (see `jobs`): durable work any replica may carry out.
    jobs: Callable[[Runtime], Sequence[JobKind]] = lambda runtime: ()
    # Extra components (caches, in-process helpers) started after the store is ready; each returns a stopper.
    components: Sequence[Callable[[Runtime], Awaitable[Callable[[], Awaitable[None]]]]] = ()
    description: str = ""
    # Where the service's published contracts are checked in (`tandem contracts <service>`).
    contracts_dir: Path | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Runtime:
    """A running service: its pool, store, broker, relay, projections and consumers."""

    def __init__(self, spec: ServiceSpec, settings: ServiceSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.pool: asyncpg.Pool | None = None
        self.store: EventStore | None = None
        self.broker: KafkaBroker = build_broker(settings)
        # The relay's own producer (see kafka.build_producer); consumers and dead letters use the broker.
        self.producer = RelayProducer(settings)
        self.relay: OutboxRelay | None = None
        self.projection_runners: list[ProjectionRunner] = []
        self.processors: list[MessageProcessor] = []
        self.jobs: JobWorker | None = None
        self.clock: Clock = SharedClock(Path(settings.dev_clock_file)) if settings.dev_clock_file else SystemClock()
        self.identity: TokenVerifier | None = None
        if settings.oidc_issuer and settings.oidc_audience:
            self.identity = TokenVerifier(
                settings.oidc_issuer,
                settings.oidc_audience,
                roles_claim=settings.oidc_roles_claim,
                employee_claim=settings.oidc_employee_claim,
                programs_claim=settings.oidc_programs_claim,
                leeway_seconds=settings.oidc_clock_skew_seconds,
            )
        self.database_ready = asyncio.Event()
        self.broker_connected = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stoppers: list[Callable[[], Awaitable[None]]] = []
        self._stopping = asyncio.Event()

    @property
    def source(self) -> str:
        """The CloudEvents `source` of this service's events."""
        return f"/tandem/{self.spec.name}"

    # -- start and stop --------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin booting in the background and return at once: HTTP serves while dependencies come up."""
        configure_logging(self.spec.name, self.settings.log_level, self.settings.log_format)
        configure_tracing(self.spec.name, self.settings.otlp_endpoint)
        self._background(self._boot(), f"{self.spec.name}-boot")

    async def wait_ready(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            await self.database_ready.wait()
            await self.broker_connected.wait()

    async def stop(self) -> None:
        """Stop in the order that loses nothing and logs no error: consumers take no new message and
        finish the ones in flight; components (jobs, schedulers) stop; the relay and projections
        finish their batch; only then the broker connection closes, and the pool last."""
        self._stopping.set()
        # A boot still under way (waiting for the broker, say) ends first: it would start what we stop.
        booting = [task for task in self._tasks if task.get_name().endswith("-boot") and not task.done()]
        for task in booting:
            task.cancel()
        await asyncio.gather(*booting, return_exceptions=True)
        for processor in self.processors:
            processor.stopping.set()
        for subscriber in self.broker.subscribers:
            await self._quietly("stopping a consumer", subscriber.stop())
        if self.jobs is not None:
            await self._quietly("handing back running jobs", self.jobs.drain())
        for stopper in reversed(self._stoppers):
            await self._quietly("stopping a component", stopper())
        followers = [runner for runner in [self.relay, *self.projection_runners] if runner is not None]
        for follower in followers:
            follower.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._quietly("closing the relay's producer", self.producer.stop())
        await self._quietly("closing the broker connection", self.broker.stop())
        if self.pool is not None:
            await self._quietly("closing the database pool", self.pool.close())
        log.info("%s stopped", self.spec.name)

    @staticmethod
    async def _quietly(what: str, step: Awaitable[object]) -> None:
        try:
            await step
        except Exception as error:  # shutting down: say what went wrong, then go on stopping
            log.warning("%s failed: %r", what, error)

    def _background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run `work` for the service's life. Each loop retries its own failures; should one end anyway
        while the service is not stopping, it says so (readiness shows what stopped; this names why)."""
        task = asyncio.create_task(work, name=name)
        self._tasks.append(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping.is_set() or task.cancelled():
            return
        error = task.exception()
        if error is None and task.get_name().endswith("-boot"):
            return  # booting is meant to end
        BACKGROUND_STOPS.labels(task.get_name()).inc()
        log.critical(
            "%s stopped while the service runs: %r; the service stays not ready until it is restarted",
            task.get_name(),
            error,
            exc_info=error,
        )

    async def _boot(self) -> None:
        await self._retry("PostgreSQL", self._connect_database)
        self._register_subscriptions()
        self._feed_inbox_projections()
        self.database_ready.set()
        assert self.store is not None
        for runner in self.projection_runners:
            self._background(runner.run(), runner.name)
        self.relay = self._build_relay()
        self._background(self.relay.run(), "relay")
        self.jobs = self._build_jobs()
        await self._retry("recurring jobs", self.jobs.schedule_recurring)
        self._background(self.jobs.run(), "jobs")
        for component in self.spec.components:
            self._stoppers.append(await component(self))
        await self._retry("the broker", self._connect_broker)
        self.broker_connected.set()
        log.info("%s ready", self.spec.name)

    async def _connect_database(self) -> None:
        schema = self.settings.schema_name
        if self.pool is None:
            self.pool = await create_pool(
                self.settings.database_url,
                schema,
                min_size=self.settings.database_pool_min,
                max_size=self.settings.database_pool_max,
            )
        keyring = SubjectKeys(self.settings.personal_data_master_key)
        store = EventStore(self.pool, schema=schema, registry=self.spec.registry, keyring=keyring, clock=self.clock)
        runners = [
            ProjectionRunner(
                projection,
                store,
                dsn=self.settings.database_url,
                poll_seconds=self.settings.relay_poll_seconds,
                max_attempts=self.settings.projection_max_attempts,
                retry_seconds=self.settings.projection_retry_seconds,
            )
            for projection in self.spec.projections
        ]
        # Read schemas are created under the migration lock: replicas booting together never race.
        await migrate(
            self.settings.database_url,
            schema,
            self.spec.migrations,
            then=[runner.create_tables for runner in runners],
        )
        # Only now do requests find a store: its tables exist.
        self.store, self.projection_runners = store, runners

    def _build_relay(self) -> OutboxRelay:
        assert self.store is not None
        return OutboxRelay(
            self.store,
            self.producer,
            topic=self.settings.topic,
            source=self.source,
            dsn=self.settings.database_url,
            batch_size=self.settings.relay_batch_size,
            poll_seconds=self.settings.relay_poll_seconds,
            broker_ready=self.broker_connected.wait,
            topics=self._topics(),
            republish_when_lost=self.settings.relay_republish_when_topic_lost,
            topic_check_seconds=self.settings.relay_topic_check_seconds,
        )

    def _topics(self) -> TopicKeeper:
        """The topics this service publishes to and reads from."""
        topics = {self.settings.topic, *(t for p in self.processors for t in p.subscription.topics)}
        return TopicKeeper(self.settings, topics)

    def _build_jobs(self) -> JobWorker:
        assert self.pool is not None
        return JobWorker(
            self.pool,
            self.spec.jobs(self),
            channel=jobs_channel(self.settings.schema_name),
            dsn=self.settings.database_url,
            concurrency=self.settings.job_concurrency,
            lease_seconds=self.settings.job_lease_seconds,
            poll_seconds=self.settings.job_poll_seconds,
        )

    def enqueue_channel(self) -> str:
        """The channel on which enqueued jobs wake this service's workers."""
        return jobs_channel(self.settings.schema_name)

    def _feed_inbox_projections(self) -> None:
        """Projections that read what subscriptions retained get the inbox as their source."""
        assert self.pool is not None
        retained = {processor.subscription.name: processor.subscription for processor in self.processors}
        for runner in self.projection_runners:
            consumes = runner.projection.consumes
            if not consumes:
                continue
            missing = [name for name in consumes if name not in retained or not retained[name].retain]
            if missing:
                raise ValueError(
                    f"projection {runner.projection.name} reads subscriptions that retain nothing: {', '.join(missing)}"
                )
            registry = EventRegistry()
            for name in consumes:
                registry = registry.merge(retained[name].registry)
            runner.source = InboxSource(
                self.pool, schema=self.settings.schema_name, consumers=consumes, registry=registry
            )

    def _register_subscriptions(self, *, consume: bool = True) -> None:
        assert self.pool is not None
        groups: dict[str, list[MessageProcessor]] = {}
        for subscription in self.spec.subscriptions(self):
            processor = MessageProcessor(
                subscription,
                self.pool,
                dead_letter_publisher(self.broker),
                max_attempts=self.settings.consumer_max_attempts,
                backoff_seconds=self.settings.consumer_retry_backoff_seconds,
                after_commit=self.store.appended.send if self.store is not None else None,
            )
            groups.setdefault(subscription.consumer_group(self.spec.name), []).append(processor)
            self.processors.append(processor)
        if consume:
            for group, processors in groups.items():
                subscribe(
                    self.broker, *processors, group=group, fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms
                )

    async def _connect_broker(self) -> None:
        await self._topics().ensure()
        try:
            await self.broker.start()
            await self.producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.producer.stop()
            with contextlib.suppress(Exception):
                await self.broker.stop()
            raise

    async def _retry(self, what: str, attempt: Callable[[], Awaitable[None]]) -> None:
        backoff = 0.5
        while True:
            try:
                await attempt()
                return
            except Exception as error:  # a dependency is away: wait, never crash-loop
                log.warning("%s not reachable yet (%s); retrying in %.1fs", what, error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    # -- read-your-writes -------------------------------------------------------------------------

    async def read_models_include(
        self, stream_id: str | None = None, *, position: int | None = None, timeout: float = 2.0
    ) -> bool:
        """Wait (at most `timeout` seconds) until every read model has applied the latest event of
        `stream_id` (or the event at `position`); returns whether they have. A stream that does not
        exist needs no wait.

        Read models follow the event store a moment later: a client that just created or changed a
        resource and reads it back (following `Location`) must find what it wrote.
        """
        if self.store is None or not self.projection_runners:
            return True
        names = [runner.name for runner in self.projection_runners]
        query, argument = (_BEHIND_ON_STREAM, stream_id) if position is None else (_BEHIND_ON_POSITION, position)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            behind = await self.store.pool.fetchval(query, argument, names)
            if not behind:
                return True
            if asyncio.get_running_loop().time() >= deadline:
                if timeout:
                    log.warning("read models still behind %s after %.1fs", stream_id or position, timeout)
                return False
            await asyncio.sleep(0.01)

    # -- for ops commands: the same parts, without serving or consuming ---------------------------

    async def open_for_operations(self) -> None:
        configure_logging(self.spec.name, self.settings.log_level, "text")
        await self._connect_database()
        self._register_subscriptions(consume=False)
        self._feed_inbox_projections()
        self.relay = self._build_relay()
        await self._connect_broker()
        self.broker_connected.set()

    async def close_operations(self) -> None:
        with contextlib.suppress(Exception):
            await self.producer.stop()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        if self.pool is not None:
            await self.pool.close()

    # -- readiness -----------------------------------------------------------------------------

    async def readiness(self) -> Readiness:
        """Each dependency and whether it answers now, and what is wrong, in words, if anything."""
        checks = {"postgres": False, "broker": False, "relay": False, "topic": True, "jobs": False, "projections": True}
        problems: list[str] = []
        if self.pool is not None:
            with contextlib.suppress(Exception):
                checks["postgres"] = await self.pool.fetchval("SELECT true", timeout=2) is True
        if not checks["postgres"]:
            problems.append("PostgreSQL does not answer")
        if self.broker_connected.is_set():
            with contextlib.suppress(Exception):
                checks["broker"] = bool(await self.broker.ping(timeout=2))
        if not checks["broker"]:
            problems.append("the broker does not answer" if self.broker_connected.is_set() else "not connected yet")
        checks["relay"] = self.relay is not None and self.relay.running
        if not checks["relay"]:
            problems.append("the relay is not running")
        if self.relay is not None and self.relay.topic_problem is not None:
            checks["topic"] = False
            problems.append(self.relay.topic_problem)
        checks["jobs"] = self.jobs is not None and self.jobs.running
        if not checks["jobs"]:
            problems.append("the job worker is not running")
        for runner in self.projection_runners:
            if runner.problem is not None:
                checks["projections"] = False
                problems.append(runner.problem)
        return Readiness(checks, problems)


# How many of the named checkpoints have not reached the stream's last event (in commit order).
_BEHIND_ON_STREAM = """
SELECT count(*) FROM (
    SELECT transaction_id, position FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1
) AS last
CROSS JOIN unnest($2::text[]) AS wanted(name)
LEFT JOIN checkpoints c ON c.name = wanted.name
WHERE c.name IS NULL OR (c.transaction_id, c.position) < (last.transaction_id, last.position)
"""


_BEHIND_ON_POSITION = _BEHIND_ON_STREAM.replace(
    "WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1", "WHERE position = $1"
)


@dataclass(frozen=True)
class Readiness:
    """What `/readyz` answers: ready when every check passes; `problems` say why not."""

    checks: dict[str, bool]
    problems: list[str]

    @property
    def ready(self) -> bool:
        return all(self.checks.values())
