"""What participants submit: each command loads the facts it needs, decides with the pure domain and
appends to the participant's evaluation (or the pair's fit) stream; free text is sealed in the same
transaction (`adapters.notes`), never in the event.

    evaluation = await submissions.assess(store, participant_id, Phase.BASELINE, ratings, now=now, metadata=metadata)

Who may submit is checked at the edge (`entrypoints`): the participant themselves, or their partner
for partner ratings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from uuid import UUID, uuid4

from tandem_kernel.commands import Idempotency, execute
from tandem_kernel.errors import NotFound
from tandem_kernel.events import DomainEvent, EventMetadata
from tandem_kernel.store import EventStore

from tandem_evaluation.adapters import facts, notes
from tandem_evaluation.application.streams import EVALUATIONS, PAIR_FITS
from tandem_evaluation.domain import evaluation as domain
from tandem_evaluation.domain.errors import LateAnswer
from tandem_evaluation.domain.evaluation import Evaluation
from tandem_evaluation.domain.events import Phase, SkillLevel
from tandem_evaluation.domain.facts import ParticipantFacts, ProgramFacts
from tandem_evaluation.domain.pair_fit import PairFit, decide_fit_answer

__all__ = [
    "Note",
    "abandon_practice",
    "adopt_practice",
    "answer_fit",
    "assess",
    "assess_partner",
    "give_feedback",
    "progress",
    "survey",
]

Note = tuple[str, str | None]
"""What a free-text note is about (`feedback:<session id>`, …), and its text if any."""


async def _facts(store: EventStore, participant_id: UUID) -> tuple[ParticipantFacts, ProgramFacts]:
    participant = await facts.load_participant(store.pool, participant_id)
    program = None if participant is None else await facts.load_program(store.pool, participant.program_id)
    if participant is None or program is None:
        raise NotFound("no such participant")
    return participant, program


async def _submit(
    store: EventStore,
    participant_id: UUID,
    decide: Callable[[Evaluation | None], Sequence[DomainEvent]],
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None,
    note: Note | None = None,
) -> Evaluation:
    async with store.transaction() as unit:
        outcome = await execute(
            store,
            EVALUATIONS,
            participant_id,
            decide,
            metadata=metadata,
            idempotency=idempotency,
            occurred_at=now,
            connection=unit.connection,
        )
        if note is not None and note[1] and outcome.events:
            assert store.keyring is not None, "a service seals free text with its keyring"
            await notes.write(unit.connection, store.keyring, participant_id, note[0], note[1], now)
    assert outcome.state is not None
    return outcome.state


async def assess(
    store: EventStore,
    participant_id: UUID,
    phase: Phase,
    ratings: Sequence[SkillLevel],
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Evaluation:
    participant, program = await _facts(store, participant_id)
    return await _submit(
        store,
        participant_id,
        lambda state: domain.decide_self_assessment(state, participant, program, phase, ratings, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )


async def assess_partner(
    store: EventStore,
    participant_id: UUID,
    phase: Phase,
    ratings: Sequence[SkillLevel],
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Evaluation:
    participant, program = await _facts(store, participant_id)
    return await _submit(
        store,
        participant_id,
        lambda state: domain.decide_partner_assessment(state, participant, program, phase, ratings, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )


async def adopt_practice(
    store: EventStore,
    participant_id: UUID,
    objective: str,
    adopted_on: date,
    description: str,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
    practice_id: UUID | None = None,
) -> tuple[UUID, Evaluation]:
    participant, program = await _facts(store, participant_id)
    new_id = practice_id or uuid4()
    evaluation = await _submit(
        store,
        participant_id,
        lambda state: domain.decide_adopt_practice(state, participant, program, new_id, objective, adopted_on, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
        note=(f"practice:{new_id}", description),
    )
    if new_id not in evaluation.practices:  # a retry answered with the first request's practice
        new_id = next(reversed(evaluation.practices))
    return new_id, evaluation


async def abandon_practice(
    store: EventStore,
    participant_id: UUID,
    practice_id: UUID,
    abandoned_on: date,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Evaluation:
    _, program = await _facts(store, participant_id)
    return await _submit(
        store,
        participant_id,
        lambda state: domain.decide_abandon_practice(state, program, practice_id, abandoned_on, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )


async def progress(
    store: EventStore,
    participant_id: UUID,
    objective: str,
    percent: int,
    comment: str | None,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Evaluation:
    participant, program = await _facts(store, participant_id)
    return await _submit(
        store,
        participant_id,
        lambda state: domain.decide_progress(state, participant, program, objective, percent, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
        note=(f"objective:{objective}", comment),
    )


async def give_feedback(
    store: EventStore,
    participant_id: UUID,
    session_id: UUID,
    usefulness: int,
    trust: int,
    comment: str | None,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Evaluation:
    participant, program = await _facts(store, participant_id)
    session = await facts.load_session(store.pool, session_id)
    if session is None or participant_id not in (session.junior_id, session.senior_id):
        raise NotFound("no such held session of this participant")
    return await _submit(
        store,
        participant_id,
        lambda state: domain.decide_feedback(state, participant, program, session, usefulness, trust, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
        note=(f"feedback:{session_id}", comment),
    )


async def survey(
    store: EventStore,
    participant_id: UUID,
    satisfaction: int,
    recommendation: int,
    text: str | None,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Evaluation:
    participant, program = await _facts(store, participant_id)
    return await _submit(
        store,
        participant_id,
        lambda state: domain.decide_survey(state, participant, program, satisfaction, recommendation, now=now),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
        note=("survey", text),
    )


async def answer_fit(
    store: EventStore,
    pair_id: UUID,
    participant_id: UUID,
    good_fit: bool,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> PairFit:
    pair = await facts.load_pair(store.pool, pair_id)
    if pair is None or not pair.has(participant_id):
        raise NotFound("no such pair of this participant")
    held = len(await facts.held_sessions_of_pair(store.pool, pair_id))
    program = await facts.load_program(store.pool, pair.program_id)
    if program is not None and program.closed_at is not None:
        raise LateAnswer("the program is closed")
    outcome = await execute(
        store,
        PAIR_FITS,
        pair_id,
        lambda state: decide_fit_answer(state, pair, participant_id, good_fit=good_fit, held_sessions=held, now=now),
        metadata=metadata,
        idempotency=idempotency,
        occurred_at=now,
    )
    assert outcome.state is not None
    return outcome.state
