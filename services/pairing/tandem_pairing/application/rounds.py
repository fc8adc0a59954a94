"""Rounds, end to end: requested (checked and recorded at once), then run.

    round_id, new = await rounds.request(store, program_id, RoundKind.FULL, now=now, metadata=metadata)
    outcome = await rounds.run(store, round_id)     # pool in, proposals appended, round completed

Running: a rotation round first ends the pairs due (as `rotated`); then the inputs are read
(`round_inputs`), the optimum computed (`domain.match_round`, off the event loop), and every
proposal written as a new stream in one statement, with the ledger and the round's completion, in one
transaction. That transaction holds the program's lock: a participant who withdrew while the round
computed is seen and their pair dropped, or their withdrawal sees the proposals and withdraws them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from uuid import UUID

from tandem_kernel.commands import Idempotency, create, execute
from tandem_kernel.errors import DomainError, InvalidTransition
from tandem_kernel.events import DomainEvent, EventMetadata, NewEvent
from tandem_kernel.jobs import enqueue, jobs_channel
from tandem_kernel.store import EventStore, UnitOfWork

from tandem_pairing.adapters import ledger
from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.adapters import rounds as rounds_table
from tandem_pairing.application import program_settings
from tandem_pairing.application.round_inputs import RoundInputs, gather_inputs
from tandem_pairing.application.streams import PAIRS, ROUNDS
from tandem_pairing.domain import RoundResult, match_round
from tandem_pairing.domain.events import (
    PairingRoundCompleted,
    PairingRoundFailed,
    PairingRoundStarted,
    PairProposed,
    RoundKind,
)
from tandem_pairing.domain.pair import decide_rotate, replay_pair
from tandem_pairing.domain.pairing_round import (
    PairingRound,
    RoundStatus,
    conclude_round,
    decide_complete,
    decide_fail,
    start_round,
)
from tandem_pairing.domain.program_rules import effective_settings

__all__ = ["ACTOR", "ROUND_JOB", "PhaseReport", "fail", "request", "run", "utc_now"]

log = logging.getLogger("tandem.pairing.rounds")

ACTOR = "pairing"
ROUND_JOB = "pairing.round"
"""The job that carries out a requested round (payload: its `round_id`)."""
ROTATION_CONCURRENCY = 4

PhaseReport = Callable[[str, float], None]
"""Called with each phase's name and seconds as a round runs (the benchmark prints them)."""


def utc_now() -> datetime:
    """The wall clock, in UTC: what rounds run by the service use as `now`."""
    return datetime.now(UTC)


async def request(
    store: EventStore,
    program_id: UUID,
    kind: RoundKind,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
    rotate_due_by: datetime | None = None,
) -> tuple[UUID, bool]:
    """Record a new running round; returns its id, and False if an earlier request (same key) made it.

    Refuses a closed program, a program with a running round, and a full round while proposals or
    pairs are open (`InvalidTransition`); `NotFound` for a program pairing has not heard of.
    """
    terms = await program_settings.program_terms(store, program_id)
    refusal: InvalidTransition | None = None
    if terms.closed:
        refusal = InvalidTransition("the program is closed")
    elif kind is RoundKind.FULL and await ledger.open_pairs_in_program(store.pool, program_id):
        refusal = InvalidTransition("the program has open proposals or pairs: run an incremental or a rotation round")
    rules = await program_settings.rules(store, program_id)
    settings = effective_settings(rules.settings, terms)

    def decide(round_id: UUID) -> list[DomainEvent]:
        # Refused here, after the Idempotency-Key is looked up: a retry of a request that started a
        # round gets that answer again (202), not a 409 from the proposals the round has made since.
        if refusal is not None:
            raise refusal
        started = start_round(
            round_id,
            program_id,
            kind,
            settings=settings,
            session_minutes=terms.session_minutes,
            now=now,
            rotate_due_by=rotate_due_by,
        )
        return [started]

    try:
        created = await create(
            store, ROUNDS, decide, metadata=metadata, idempotency=idempotency, occurred_at=now, around=_Running()
        )
    except rounds_table.RoundAlreadyRunning:
        raise InvalidTransition("a round is already running for this program") from None
    assert created.state is not None
    return created.state.round_id, bool(created.events)


class _Running:
    """A round just started is recorded as running, and its job queued, in the same transaction:
    whichever replica is alive carries it out (see `tandem_kernel.jobs`)."""

    async def before(self, unit: UnitOfWork) -> None:
        pass

    async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        for event in events:
            if isinstance(event, PairingRoundStarted):
                await rounds_table.insert_running(unit.connection, event)
                await enqueue(
                    unit.connection,
                    ROUND_JOB,
                    {"round_id": str(event.round_id)},
                    key=str(event.round_id),
                    max_attempts=3,
                    channel=jobs_channel(unit.store.schema),
                )


async def fail(
    store: EventStore, round_id: UUID, reason: str, *, now: datetime, metadata: EventMetadata
) -> PairingRoundFailed | None:
    """Fail a running round; returns the event, or None if the round had already ended."""
    async with store.transaction() as unit:
        loaded = await execute(
            store,
            ROUNDS,
            round_id,
            lambda state: decide_fail(state, reason, now=now),
            occurred_at=now,
            metadata=metadata,
            connection=unit.connection,
        )
        failed = next((event for event in loaded.events if isinstance(event, PairingRoundFailed)), None)
        if failed is not None:
            await rounds_table.fail(unit.connection, failed)
    return failed


class _Phases:
    """Times the phases of a round, for the log and for whoever asked (`PhaseReport`)."""

    def __init__(self, report: PhaseReport | None) -> None:
        self.report = report
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - started
        if self.report is not None:
            self.report(name, self.seconds[name])


async def run(
    store: EventStore,
    round_id: UUID,
    *,
    clock: Callable[[], datetime] = utc_now,
    report: PhaseReport | None = None,
) -> PairingRoundCompleted | PairingRoundFailed | None:
    """Run a requested round to its end; returns its last event (None if it was not running).

    Never raises for a round that cannot be completed: it is failed, with the reason, and logged.
    """
    envelopes = await store.read_stream(ROUNDS.stream_id(round_id))
    round_ = ROUNDS.replay((e.payload for e in envelopes), None)
    if round_ is None or round_.status is not RoundStatus.RUNNING:
        return None
    metadata = envelopes[0].caused(actor=ACTOR)
    phases = _Phases(report)
    try:
        rotated = 0
        if round_.kind is RoundKind.ROTATION:
            rotated = await _rotate(store, round_, now=clock(), metadata=metadata)
        with phases("pool loaded"):
            inputs = await gather_inputs(store, round_)
        with phases("optimum computed"):
            result = await asyncio.to_thread(
                match_round, inputs.candidates.values(), inputs.scoring, forbidden=inputs.forbidden, pins=inputs.pins
            )
        now = clock()
        with phases("proposals built"):
            proposals, completed = await asyncio.to_thread(
                conclude_round, round_, result, inputs.candidates, now=now, rotated_pairs=rotated
            )
        with phases("proposals appended"):
            completed = await _write(store, round_, result, inputs, proposals, completed, now, metadata)
    except DomainError as refused:  # the program closed meanwhile, or the round was failed as abandoned
        log.warning("round %s not completed: %s", round_id, refused)
        return await fail(store, round_id, refused.detail, now=clock(), metadata=metadata)
    except Exception as error:
        log.exception("round %s failed", round_id)
        return await fail(store, round_id, f"{type(error).__name__}: {error}"[:500], now=clock(), metadata=metadata)
    # Cancelled (the service stopping): nothing of this run was committed, and its job goes back
    # to the queue for another replica to run the round again.
    log.info(
        "round %s (%s): %s",
        round_id,
        round_.kind,
        ", ".join(f"{name} in {seconds:.2f}s" for name, seconds in phases.seconds.items()),
    )
    return completed


async def _rotate(store: EventStore, round_: PairingRound, *, now: datetime, metadata: EventMetadata) -> int:
    """End the pairs this rotation round is for; returns how many ended."""
    due = await ledger.rotations_due(store.pool, round_.program_id, round_.rotate_due_by)
    slots = asyncio.Semaphore(ROTATION_CONCURRENCY)

    async def rotate(pair_id: UUID) -> bool:
        async with slots:
            loaded = await execute(
                store, PAIRS, pair_id, lambda state: decide_rotate(state, now=now), occurred_at=now, metadata=metadata
            )
            return bool(loaded.events)

    return sum(await asyncio.gather(*(rotate(pair_id) for pair_id in due)))


async def _write(
    store: EventStore,
    round_: PairingRound,
    result: RoundResult,
    inputs: RoundInputs,
    proposals: list[PairProposed],
    completed: PairingRoundCompleted,
    now: datetime,
    metadata: EventMetadata,
) -> PairingRoundCompleted:
    """Begin every proposal's stream, fill the ledger and complete the round: all or nothing."""
    async with store.transaction() as unit:
        connection = unit.connection
        await pool_table.lock_program(connection, round_.program_id)
        terms = await pool_table.load_terms(connection, round_.program_id)
        if terms is None or terms.closed:
            raise InvalidTransition("the program closed while the round was computed")
        paired = {p.junior_id for p in result.pairings} | {p.senior_id for p in result.pairings}
        gone = await pool_table.not_approved(connection, paired)
        if gone:  # rare: someone withdrew while the round was computed
            proposals, completed = conclude_round(
                round_, result, inputs.candidates, now=now, gone=gone, rotated_pairs=completed.rotated_pairs
            )
        await unit.start_streams(
            {PAIRS.stream_id(p.pair_id): [NewEvent(p, occurred_at=now)] for p in proposals}, metadata=metadata
        )
        await ledger.save(connection, [pair for p in proposals if (pair := replay_pair([p])) is not None])
        await execute(
            store,
            ROUNDS,
            round_.round_id,
            lambda state: decide_complete(state, completed),
            occurred_at=now,
            metadata=metadata,
            connection=connection,
        )
        await rounds_table.complete(connection, completed)
    return completed
