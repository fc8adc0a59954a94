"""Planning newly activated pairs in batches: a pairing round activates thousands at once.

Planning each pair in a transaction of its own (`planner.replan`) costs about eight round trips per
pair. Instead, the PairActivated handler only `queue`s the pair (a row in `pairs_to_plan`, in the
consumer's transaction, so a redelivered message, skipped by the inbox, queues nothing twice) and
wakes the planning job, which runs `plan_queued` until the queue is empty. Each batch is one
transaction:

1. take up to `BATCH` queued pairs, oldest first (`FOR UPDATE SKIP LOCKED`: two batches at once,
   or two runs, never take the same pair);
2. read their pairs and programs, lock the booking locks of all their people (sorted, in one
   step, as `planner.replan` takes its two and `planner.replan_pairs_of` all of a person's pairs':
   no deadlock), then read the people's profiles and bookings, each with one `= ANY` query;
3. a pair that already has a schedule (an enrollment re-plan got there first) is re-planned by
   `planner.replan`, which only fills its empty periods;
4. the others are planned in memory in queue order, by the same `planner.decide`, each pair's new
   sessions added to both people's busy time before the next pair: a senior's two pairs in one
   batch never overlap, and the batch plans exactly what planning pair by pair would;
5. their schedules start in one statement (each caused by its own activation), the ledger is
   written in one, and the queue rows are deleted.

A pair whose planning raises (a profile the planner cannot read, say) does not hold the others up:
it is held aside with its `error` (logged with the pair, counted in `tandem_work_held`, which an
alert watches), skipped by later batches and tried again every `RETRY_HELD_AFTER`, or at once when
one of its people's profiles changes (the enrollment policy re-plans the pair and lets the held row
go). A failure of PostgreSQL or the network fails the batch, which the job retries.

A profile change racing a batch waits for its person's lock, then re-plans against the batch's
committed sessions (or the batch waits for it): bookings are only ever decided under the lock. (A
consumer's batch of several profile changes takes each change's locks in turn; if that closes a
cycle with a batch, PostgreSQL breaks it, the loser is rolled back and tried again.)

The queue cannot lose a pair to a job finishing just as a pair is queued (the job's key admits one
unfinished run, so that late pair's wake-up finds it still running): the scheduler's tick plans
whatever is still queued, too.

    await activations.queue(connection, pair_id, now=envelope.occurred_at, metadata=metadata, wake=channel)
    while await activations.plan_queued(store):
        pass
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from tandem_kernel.database import CONNECTION_ERRORS
from tandem_kernel.errors import ConcurrencyError
from tandem_kernel.events import EventMetadata, NewEvent
from tandem_kernel.jobs import enqueue
from tandem_kernel.metrics import WORK_HELD
from tandem_kernel.store import EventStore, UnitOfWork

from tandem_sessions.adapters import directory, ledger
from tandem_sessions.adapters.directory import ActivePair, Profile, ProgramTerms
from tandem_sessions.application import planner
from tandem_sessions.application.booking import lock_people
from tandem_sessions.application.streams import SCHEDULES
from tandem_sessions.domain.calendar import Interval, Person
from tandem_sessions.domain.schedule import PairSchedule, SessionStatus, replay_schedule

__all__ = ["BATCH", "HELD", "PLAN_JOB", "RETRY_HELD_AFTER", "let_go", "plan_all_queued", "plan_queued", "queue"]

log = logging.getLogger("tandem.sessions.activations")

PLAN_JOB = "sessions.plan-activated"

HELD = "sessions.pairs-to-plan"
"""The kind of held work (`tandem_work_held`) a pair whose planning failed counts as."""

RETRY_HELD_AFTER = timedelta(hours=1)

BATCH = 500
"""Pairs per transaction: up to 1,000 people's locks held at once, well inside PostgreSQL's lock
table (64 per connection by default, shared), and a few seconds of work."""


async def queue(
    connection: asyncpg.Connection, pair_id: UUID, *, now: datetime, metadata: EventMetadata, wake: str | None
) -> None:
    """Record the pair as to be planned as of `now`, in the caller's transaction, and wake the job
    (on `wake`, the service's jobs channel)."""
    await connection.execute(
        "INSERT INTO pairs_to_plan (pair_id, occurred_at, correlation_id, causation_id, actor, trace_context)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (pair_id) DO NOTHING",
        pair_id,
        now,
        metadata.correlation_id,
        metadata.causation_id,
        metadata.actor,
        json.dumps(metadata.trace_context),
    )
    await enqueue(connection, PLAN_JOB, {}, key=PLAN_JOB, channel=wake)


@dataclass(frozen=True, slots=True)
class _Queued:
    pair_id: UUID
    now: datetime
    metadata: EventMetadata


async def _take(unit: UnitOfWork, limit: int) -> list[_Queued]:
    rows = await unit.connection.fetch(
        "SELECT * FROM pairs_to_plan WHERE error IS NULL ORDER BY queued_at, pair_id LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )
    return [
        _Queued(
            row["pair_id"],
            row["occurred_at"],
            EventMetadata(
                correlation_id=row["correlation_id"],
                causation_id=row["causation_id"],
                actor=row["actor"],
                trace_context=json.loads(row["trace_context"]),
            ),
        )
        for row in rows
    ]


def _people(pair: ActivePair, profiles: Mapping[UUID, Profile]) -> tuple[Person, Person] | None:
    junior, senior = profiles.get(pair.ref.junior_id), profiles.get(pair.ref.senior_id)
    if junior is None or senior is None or not junior.fields or not senior.fields:
        return None
    return junior.person(), senior.person()


DEADLOCK_RETRIES = 3
"""A batch chosen as a deadlock's victim is tried again at once, this many times, before the job's
own back-off: a profile change handled in a consumer's batch of events re-plans pair after pair,
so its locks are sorted per event, not across the batch, and PostgreSQL may break a cycle
with this batch."""


async def plan_queued(store: EventStore, *, limit: int = BATCH) -> int:
    """Plan up to `limit` queued pairs in one transaction; how many were taken off the queue."""
    attempts = 1
    while True:
        try:
            return await _plan_batch(store, limit)
        except asyncpg.DeadlockDetectedError as error:
            if attempts >= DEADLOCK_RETRIES:
                raise
            attempts += 1
            log.warning("a planning batch lost a deadlock (%s); trying it again", error)


async def _plan_batch(store: EventStore, limit: int) -> int:
    async with store.transaction() as unit:
        queued = await _take(unit, limit)
        if not queued:
            return 0
        pairs = await directory.load_pairs_and_terms(unit.connection, [q.pair_id for q in queued])
        await lock_people(unit.connection, [person for pair, _ in pairs.values() for person in _pair_people(pair)])
        started = await store.existing_streams(
            [SCHEDULES.stream_id(q.pair_id) for q in queued], connection=unit.connection
        )
        fresh, failed = [], {}
        for entry in queued:
            if SCHEDULES.stream_id(entry.pair_id) in started:
                try:  # in a savepoint of its own: a refusal undoes only this pair's work
                    await planner.replan(
                        store, entry.pair_id, now=entry.now, metadata=entry.metadata, connection=unit.connection
                    )
                except Exception as error:
                    failed[entry.pair_id] = _failure(error)
            elif entry.pair_id in pairs:
                fresh.append(entry)
        failed |= await _plan_fresh(unit, fresh, pairs)
        await _settle(unit, [q.pair_id for q in queued], failed)
        return len(queued)


def _failure(error: Exception) -> str:
    """What a pair whose planning failed keeps; the database's and the network's failures, and a
    lost race, are the batch's, not the pair's (re-raised: the job retries the batch)."""
    if isinstance(error, (asyncpg.PostgresError, OSError, ConcurrencyError, *CONNECTION_ERRORS)):
        raise error
    log.exception("planning an activated pair failed: it stays queued with its error", exc_info=error)
    return repr(error)


async def _settle(unit: UnitOfWork, taken: list[UUID], failed: Mapping[UUID, str]) -> None:
    """Planned pairs leave the queue; failed ones stay, with their error, out of later batches' way."""
    await unit.connection.execute(
        "DELETE FROM pairs_to_plan WHERE pair_id = ANY($1::uuid[]) AND NOT pair_id = ANY($2::uuid[])",
        taken,
        list(failed),
    )
    if failed:
        await unit.connection.execute(
            "UPDATE pairs_to_plan SET error = f.error, failed_at = now()"
            " FROM unnest($1::uuid[], $2::text[]) AS f(pair_id, error) WHERE pairs_to_plan.pair_id = f.pair_id",
            list(failed),
            list(failed.values()),
        )


async def plan_all_queued(store: EventStore, *, concurrency: int = 2, retry_held: bool = False) -> int:
    """Plan batch after batch until the queue is empty, `concurrency` batches at a time (while one
    plans in Python, PostgreSQL writes another's); how many pairs were taken. With `retry_held`,
    pairs held aside longer than `RETRY_HELD_AFTER` are tried again first."""
    if retry_held:
        await store.pool.execute(
            "UPDATE pairs_to_plan SET error = NULL WHERE error IS NOT NULL AND failed_at < now() - $1::interval",
            RETRY_HELD_AFTER,
        )

    async def drain() -> int:
        taken = 0
        while planned := await plan_queued(store):
            taken += planned
        return taken

    taken = sum(await asyncio.gather(*(drain() for _ in range(concurrency))))
    WORK_HELD.labels(HELD).set(await store.pool.fetchval("SELECT count(*) FROM pairs_to_plan WHERE error IS NOT NULL"))
    return taken


async def let_go(connection: asyncpg.Connection, pair_id: UUID) -> None:
    """The pair was planned by another path (a re-plan): it is no longer held aside. (A pair a batch
    is planning right now is not held: this neither touches nor waits for it.)"""
    await connection.execute("DELETE FROM pairs_to_plan WHERE pair_id = $1 AND error IS NOT NULL", pair_id)


def _pair_people(pair: ActivePair) -> tuple[UUID, UUID]:
    return pair.ref.junior_id, pair.ref.senior_id


async def _plan_fresh(
    unit: UnitOfWork, fresh: list[_Queued], pairs: Mapping[UUID, tuple[ActivePair, ProgramTerms | None]]
) -> dict[UUID, str]:
    """Plan pairs without a schedule yet, in order, each around the sessions planned before it;
    the pairs whose planning failed, with why."""
    spans = [
        planner.pair_span(pair, terms) for pair, terms in (pairs[entry.pair_id] for entry in fresh) if terms is not None
    ]
    if not spans:
        return {}
    people = {person for entry in fresh for person in _pair_people(pairs[entry.pair_id][0])}
    profiles = await directory.load_people(unit.connection, list(people))
    overall = Interval(min(span.start for span in spans), max(span.end for span in spans))
    busy = dict(await ledger.busy_of_each(unit.connection, list(people), overall))
    streams: dict[str, list[NewEvent]] = {}
    caused: dict[str, EventMetadata] = {}
    schedules: list[PairSchedule] = []
    failed: dict[UUID, str] = {}
    for entry in fresh:
        pair, terms = pairs[entry.pair_id]
        junior, senior = _pair_people(pair)
        try:
            events = planner.decide(
                None, pair, terms, _people(pair, profiles), [*busy[junior], *busy[senior]], now=entry.now
            )
        except Exception as error:
            failed[entry.pair_id] = _failure(error)
            continue
        schedule = replay_schedule(events, None)
        if schedule is None:
            continue
        stream_id = SCHEDULES.stream_id(entry.pair_id)
        streams[stream_id] = [NewEvent(event, occurred_at=entry.now) for event in events]
        caused[stream_id] = entry.metadata
        schedules.append(schedule)
        for session in schedule.sessions.values():
            if session.status is SessionStatus.SCHEDULED:
                booked = Interval(session.starts_at, session.ends_at)
                busy[junior].append(booked)
                busy[senior].append(booked)
    await unit.start_streams(streams, metadata_of=caused)
    if schedules:
        await ledger.save_all(unit.connection, schedules)
    return failed
