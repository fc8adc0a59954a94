"""A tiny service built on the kernel, the way real services are, for the runtime's tests."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Body
from kernel.events_for_tests import CounterIncremented, registry
from pydantic import BaseModel, Field
from tandem_kernel.access import PROGRAM_ADMIN, allow
from tandem_kernel.api import IdempotencyDep, MetadataDep, PoolDep, StoreDep
from tandem_kernel.commands import StreamKind, execute
from tandem_kernel.consumers import Subscription
from tandem_kernel.errors import ConcurrencyError
from tandem_kernel.events import EventEnvelope
from tandem_kernel.identity import Principal
from tandem_kernel.projections import Projection
from tandem_kernel.runtime import Runtime, ServiceSpec


class Increment(BaseModel):
    by: int = Field(ge=1, le=100)
    expected_version: int = Field(ge=0)
    reason: str = Field(default="http", max_length=200)


router = APIRouter()

Admin = Annotated[Principal, allow(PROGRAM_ADMIN)]


# A counter's state, as commands see it, is the number of increments it has had.
COUNTERS: StreamKind[int] = StreamKind("counter", lambda events, count: (count or 0) + len(list(events)))


@router.post("/counters/{counter_id}/increments", status_code=201)
async def increment(
    counter_id: str,
    body: Annotated[Increment, Body()],
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    _: Admin,
) -> dict[str, int]:
    def decide(count: int | None) -> list[CounterIncremented]:
        if (count or 0) != body.expected_version:  # the client says which version it saw
            raise ConcurrencyError(counter_id, body.expected_version, count or 0)
        return [CounterIncremented(by=body.by, reason=body.reason)]

    outcome = await execute(store, COUNTERS, counter_id, decide, metadata=metadata, idempotency=idempotency, attempts=1)
    return {"version": outcome.version}


@router.get("/counters/{counter_id}/defect")
async def defect(counter_id: str, _: Admin) -> dict[str, int]:
    """A route with a bug: what every unexpected error looks like to a client."""
    raise RuntimeError(f"a defect while reading {counter_id}")


@router.get("/counters/{counter_id}/slowly")
async def read_counter_slowly(counter_id: str, pool: PoolDep, _: Admin) -> dict[str, int]:
    """A read that takes its time in PostgreSQL: long enough to lose its connection halfway."""
    total = await pool.fetchval(
        "SELECT (SELECT total FROM counters_read.totals WHERE stream_id = $1) FROM pg_sleep(30)",
        COUNTERS.stream_id(counter_id),
    )
    return {"total": total or 0}


@router.get("/counters/{counter_id}")
async def read_counter(counter_id: str, pool: PoolDep, _: Admin, label: str | None = None) -> dict[str, int]:
    total = await pool.fetchval(
        "SELECT total FROM counters_read.totals WHERE stream_id = $1", COUNTERS.stream_id(counter_id)
    )
    return {"total": total or 0}


async def project_total(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    assert isinstance(envelope.payload, CounterIncremented)
    await connection.execute(
        "INSERT INTO totals VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET total = totals.total + $2",
        envelope.stream_id,
        envelope.payload.by,
    )


async def record_consumed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
    await connection.execute("CREATE TABLE IF NOT EXISTS consumed (event_id uuid PRIMARY KEY, trace_id text)")
    from opentelemetry import trace

    trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
    await connection.execute("INSERT INTO consumed VALUES ($1, $2)", envelope.event_id, trace_id)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    return [Subscription("counters.echo", (runtime.settings.topic,), registry(), {CounterIncremented: record_consumed})]


service = ServiceSpec(
    name="counters",
    title="Counters (kernel test service)",
    registry=registry(),
    routers=[router],
    subscriptions=subscriptions,
    projections=[
        Projection(
            "totals",
            read_schema="counters_read",
            ddl="CREATE TABLE totals (stream_id text PRIMARY KEY, total int NOT NULL)",
            handlers={CounterIncremented: project_total},
        )
    ],
)
