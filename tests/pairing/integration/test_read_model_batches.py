"""The batched read model against the one it replaced (one SQL statement per event), on PostgreSQL.

A generated history with every event the read model takes (rounds completed and failed, a round
started twice, pairs through every path of their lifecycle, proposed twice, flagged twice, an event
of a pair never proposed) is appended in an interleaved order; the read model is then built from
it one event at a time by the old handlers (`per_event_read_model`), and by the batched projection
in batches of every size from one event to the whole history. Every table must hold the same rows.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from pairing.integration.per_event_read_model import per_event_projection
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import DomainEvent, NewEvent
from tandem_kernel.projections import Projection, ProjectionRunner
from tandem_kernel.store import EventStore
from tandem_pairing.adapters.read_model import PROPOSAL_CHANGES, ROUND_CHANGES, pairs_projection
from tandem_pairing.domain.events import (
    DeclineReason,
    EndReason,
    PairActivated,
    PairBecameInfeasible,
    PairEnded,
    PairingRoundCompleted,
    PairingRoundFailed,
    PairingRoundStarted,
    PairProposed,
    ProgramPairingSettings,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ProposalReminderDue,
    ProposalWithdrawn,
    RejectedPinRecord,
    RoundKind,
    UnmatchedParticipant,
    UnmatchedReason,
    WithdrawalReason,
)
from tandem_pairing.domain.participants import Role
from tandem_pairing.domain.score import ScoreBreakdown
from tandem_pairing.entrypoints.app import registry, service

TABLES = {"proposals": "pair_id", "rounds": "round_id"}
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    await migrate(database_url, "pairing", service.migrations)
    pool = await create_pool(database_url, "pairing", min_size=1, max_size=4)
    try:
        yield EventStore(pool, schema="pairing", registry=registry())
    finally:
        await pool.close()


def pair_lifecycle(rng: random.Random, proposed: PairProposed) -> list[DomainEvent]:
    """What may happen to a proposal after it is made, by one of the paths pairs take."""
    ids: dict[str, Any] = proposed.model_dump(include={"pair_id", "program_id", "junior_id", "senior_id"})
    junior, senior = proposed.junior_id, proposed.senior_id
    at = proposed.proposed_at + timedelta(hours=rng.randint(1, 48))
    junior_accepts = ProposalAccepted(**ids, participant_id=junior, role=Role.JUNIOR)
    senior_accepts = ProposalAccepted(**ids, participant_id=senior, role=Role.SENIOR)
    reminder = ProposalReminderDue(**ids, waiting_for=(senior,), expires_at=proposed.expires_at)
    path = rng.choice(("active", "ended", "declined", "expired", "withdrawn", "again"))
    if path in ("active", "ended"):
        flags = [
            PairBecameInfeasible(
                **ids,
                violations=tuple(rng.sample(("language", "manager", "overlap"), n)),
                detected_at=at + timedelta(days=n),
            )
            for n in range(1, rng.randint(1, 3))
        ]
        ended = PairEnded(**ids, reason=EndReason.ROTATED, ended_at=at + timedelta(days=90), left_participant_id=None)
        activated = PairActivated(**ids, activated_at=at, rotation_due_at=at + timedelta(days=90))
        return [junior_accepts, reminder, senior_accepts, activated, *flags, *([ended] if path == "ended" else [])]
    if path == "declined":
        declined = ProposalDeclined(**ids, participant_id=senior, role=Role.SENIOR, reason=DeclineReason.NO_TIME)
        return [junior_accepts, declined]
    if path == "expired":
        return [reminder, ProposalExpired(**ids, unanswered=(junior, senior))]
    if path == "withdrawn":
        left = rng.choice((junior, None))
        reason = WithdrawalReason.PARTICIPANT_LEFT if left else WithdrawalReason.PROGRAM_CLOSED
        return [senior_accepts, ProposalWithdrawn(**ids, reason=reason, left_participant_id=left)]
    return [proposed.model_copy(update={"score": 1.0}), junior_accepts]  # proposed again: the first stands


def generated_history(seed: int, rounds: int = 4, pairs: int = 12) -> list[tuple[str, DomainEvent]]:
    """(stream, event) in the order they are appended: each round with its proposals, then what
    became of every pair, the pairs' streams interleaved at random."""
    rng = random.Random(seed)
    program_id = uuid4()
    appended: list[tuple[str, DomainEvent]] = []
    lifecycles: list[tuple[str, list[DomainEvent]]] = []
    for n in range(rounds):
        round_id, started_at = uuid4(), T0 + timedelta(days=7 * n)
        stream = f"round-{round_id}"
        started = PairingRoundStarted(
            round_id=round_id,
            program_id=program_id,
            kind=RoundKind.FULL,
            reference_week=date(2026, 3, 2),
            session_minutes=45,
            settings=ProgramPairingSettings(),
            started_at=started_at,
        )
        appended.append((stream, started))
        if n == rounds - 1:  # the last round starts twice (a retry), then fails
            failed = PairingRoundFailed(
                round_id=round_id, program_id=program_id, reason="no pool", failed_at=started_at
            )
            appended += [(stream, started.model_copy(update={"kind": RoundKind.ROTATION})), (stream, failed)]
            continue
        for _ in range(pairs):
            pair_id = uuid4()
            proposed = PairProposed(
                pair_id=pair_id,
                program_id=program_id,
                junior_id=uuid4(),
                senior_id=uuid4(),
                round_id=round_id,
                score=round(rng.uniform(40, 95), 2),
                breakdown=ScoreBreakdown(**dict.fromkeys(ScoreBreakdown.model_fields, round(rng.uniform(0, 14), 4))),
                pinned=rng.random() < 0.2,
                proposed_at=started_at,
                remind_at=started_at + timedelta(days=3),
                expires_at=started_at + timedelta(days=7),
                rotation_months=3,
            )
            appended.append((f"pair-{pair_id}", proposed))
            lifecycles.append((f"pair-{pair_id}", pair_lifecycle(rng, proposed)))
        unmatched = UnmatchedParticipant(participant_id=uuid4(), role=Role.SENIOR, reason=UnmatchedReason.CAPACITY)
        pin = RejectedPinRecord(junior_id=uuid4(), senior_id=uuid4(), reason="manager", violations=("manager",))
        completed = PairingRoundCompleted(
            round_id=round_id,
            program_id=program_id,
            kind=RoundKind.FULL,
            pool_size=2 * pairs + 1,
            matched=pairs,
            unmatched_count=1,
            unmatched=(unmatched,),
            rejected_pins=(pin,) * (n % 2),
            rotated_pairs=n,
            total_score=123.4 + n,
            completed_at=started_at + timedelta(seconds=2),
        )
        appended.append((stream, completed))
    stray = ProposalAccepted(
        pair_id=uuid4(),
        program_id=program_id,
        junior_id=uuid4(),
        senior_id=uuid4(),
        participant_id=uuid4(),
        role=Role.JUNIOR,
    )
    lifecycles.append((f"pair-{stray.pair_id}", [stray]))  # of a pair never proposed: changes nothing
    while lifecycles:
        stream, events = rng.choice(lifecycles)
        appended.append((stream, events.pop(0)))
        lifecycles = [(s, e) for s, e in lifecycles if e]
    return appended


async def append(store: EventStore, history: list[tuple[str, DomainEvent]]) -> None:
    versions: dict[str, int] = {}
    for stream, event in history:
        await store.append(stream, versions.get(stream, 0), [NewEvent(event)])
        versions[stream] = versions.get(stream, 0) + 1


async def built(store: EventStore, database_url: str, projection: Projection, batch_size: int) -> dict[str, list[Any]]:
    runner = ProjectionRunner(projection, store, dsn=database_url, batch_size=batch_size, max_attempts=1)
    await runner.create_tables()
    await runner.catch_up()
    assert not await store.pool.fetchval("SELECT count(*) FROM projection_dead_letters")
    return await contents(store, projection.read_schema)


async def contents(store: EventStore, schema: str) -> dict[str, list[Any]]:
    return {
        table: [dict(row) for row in await store.pool.fetch(f"SELECT * FROM {schema}.{table} ORDER BY {key}")]
        for table, key in TABLES.items()
    }


def batched(batch_size: int) -> Projection:
    name = f"pairs_batches_of_{batch_size}"
    return replace(pairs_projection, name=name, read_schema=f"pairing_read_{name}")


@pytest.mark.parametrize("seed", [1, 2])
async def test_batches_of_any_size_build_the_read_model_the_per_event_handlers_built(
    store: EventStore, database_url: str, seed: int
) -> None:
    history = generated_history(seed)
    await append(store, history)
    taken = {type(event) for _, event in history}
    assert taken >= {*PROPOSAL_CHANGES, *ROUND_CHANGES}, "the history has every event the read model takes"

    expected = await built(store, database_url, per_event_projection, batch_size=1)

    statuses = {row["status"] for row in expected["proposals"]}
    assert statuses == {"proposed", "active", "ended", "declined", "expired", "withdrawn"}
    assert {row["status"] for row in expected["rounds"]} == {"completed", "failed"}
    assert any(row["violations"] is not None for row in expected["proposals"])
    for batch_size in (1, 5, 10_000):
        assert await built(store, database_url, batched(batch_size), batch_size) == expected, batch_size


async def test_a_rebuild_in_batches_gives_the_same_read_model(store: EventStore, database_url: str) -> None:
    await append(store, generated_history(seed=3))
    live = batched(100)
    expected = await built(store, database_url, per_event_projection, batch_size=1)
    await built(store, database_url, live, batch_size=100)
    await store.pool.execute(f"UPDATE {live.read_schema}.proposals SET status = 'stale'")

    await ProjectionRunner(live, store, dsn=database_url, batch_size=100).rebuild()

    assert await contents(store, live.read_schema) == expected
