"""A participant's evaluation over HTTP: what they are asked, and their answers.

Only the participant answers for themselves (their partner, for partner ratings); anyone else gets a
404, as if the participant did not exist. Program admins read the evaluations of their programs.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, allow, sees_program
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, PoolDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.store import EventStore
from tandem_kernel.strict import StrictJSONRoute

from tandem_evaluation.adapters import facts
from tandem_evaluation.application import submissions
from tandem_evaluation.domain.facts import ParticipantFacts
from tandem_evaluation.entrypoints.bodies import Abandonment, Assessment, PracticeBody, ProgressBody, Survey
from tandem_evaluation.entrypoints.schemas import ParticipantEvaluationPublic
from tandem_evaluation.entrypoints.views import participant_view

__all__ = ["participants_router", "themselves"]

participants_router = APIRouter(tags=["participants"], route_class=StrictJSONRoute)

Themselves = Annotated[Principal, allow(PARTICIPANT)]
HrOrThemselves = Annotated[Principal, allow(PROGRAM_ADMIN, PARTICIPANT)]

_NO_PARTICIPANT = "no such participant"


async def themselves(store: EventStore, caller: Principal, participant_id: UUID) -> ParticipantFacts:
    """The participant, if the caller is them; else not found."""
    participant = await facts.load_participant(store.pool, participant_id)
    if participant is None or not caller.is_employee(participant.employee_id):
        raise NotFound(_NO_PARTICIPANT)
    return participant


async def _their_partner(store: EventStore, caller: Principal, participant_id: UUID) -> None:
    """The caller is a partner (in any pair, current or past) of `participant_id`; else not found."""
    for pair in await facts.pairs_of(store.pool, participant_id):
        partner_id = pair.partner_of(participant_id)
        partner = None if partner_id is None else await facts.load_participant(store.pool, partner_id)
        if partner is not None and caller.is_employee(partner.employee_id):
            return
    raise NotFound(_NO_PARTICIPANT)


async def _updated(store: StoreDep, participant_id: UUID) -> ParticipantEvaluationPublic:
    participant = await facts.load_participant(store.pool, participant_id)
    assert participant is not None
    return await participant_view(store.pool, store.keyring, participant, with_notes=True)


@participants_router.get(
    "/participants/{participant_id}/evaluation",
    summary="A participant's evaluation: what they are asked, their skills, practices, progress and feedback",
    responses=problems(404),
)
async def participant_evaluation(
    participant_id: UUID, pool: PoolDep, store: StoreDep, caller: HrOrThemselves
) -> ParticipantEvaluationPublic:
    """The participant sees their own (with their notes); a program admin those of their programs (without)."""
    participant = await facts.load_participant(pool, participant_id)
    if participant is None:
        raise NotFound(_NO_PARTICIPANT)
    own = caller.is_employee(participant.employee_id)
    hr = caller.has(Roles.PROGRAM_ADMIN) and sees_program(caller, participant.program_id)
    if not own and not hr:
        raise NotFound(_NO_PARTICIPANT)
    return await participant_view(pool, store.keyring, participant, with_notes=own)


@participants_router.post(
    "/participants/{participant_id}/assessments",
    summary="Rate one's own skills for a phase one was asked",
    responses=problems(404, 409),
)
async def assess(
    participant_id: UUID,
    body: Assessment,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> ParticipantEvaluationPublic:
    """Levels 1-5 on skills the participant wanted (any other: 422 naming it); once per phase asked (409
    otherwise); after the program closed, only the end assessment, within its answer window (409)."""
    await themselves(store, caller, participant_id)
    await submissions.assess(
        store, participant_id, body.phase, body.ratings, now=now, metadata=metadata, idempotency=idempotency
    )
    return await _updated(store, participant_id)


@participants_router.post(
    "/participants/{participant_id}/partner-assessments",
    status_code=204,
    summary="Rate one's partner's skills",
    responses=problems(404, 409),
)
async def assess_partner(
    participant_id: UUID,
    body: Assessment,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> Response:
    """The partner rates `participant_id` on the skills `participant_id` wanted, for a phase they were asked."""
    await _their_partner(store, caller, participant_id)
    await submissions.assess_partner(
        store, participant_id, body.phase, body.ratings, now=now, metadata=metadata, idempotency=idempotency
    )
    return Response(status_code=204)


@participants_router.post(
    "/participants/{participant_id}/practices",
    status_code=201,
    summary="Declare a new practice",
    responses=problems(404, 409),
)
async def adopt_practice(
    participant_id: UUID,
    body: PracticeBody,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> ParticipantEvaluationPublic:
    """A concrete new practice, towards one of the participant's objectives (its description is sealed)."""
    await themselves(store, caller, participant_id)
    await submissions.adopt_practice(
        store,
        participant_id,
        body.objective,
        body.adopted_on,
        body.description,
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return await _updated(store, participant_id)


@participants_router.post(
    "/participants/{participant_id}/practices/{practice_id}/abandon",
    summary="Say a practice was abandoned",
    responses=problems(404, 409),
)
async def abandon_practice(
    participant_id: UUID,
    practice_id: UUID,
    body: Abandonment,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> ParticipantEvaluationPublic:
    await themselves(store, caller, participant_id)
    await submissions.abandon_practice(
        store, participant_id, practice_id, body.abandoned_on, now=now, metadata=metadata, idempotency=idempotency
    )
    return await _updated(store, participant_id)


@participants_router.post(
    "/participants/{participant_id}/progress",
    summary="How far one is towards an objective",
    responses=problems(404, 409),
)
async def progress(
    participant_id: UUID,
    body: ProgressBody,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> ParticipantEvaluationPublic:
    """0-100 % on one of the participant's objectives, with an optional comment (sealed)."""
    await themselves(store, caller, participant_id)
    await submissions.progress(
        store,
        participant_id,
        body.objective,
        body.percent,
        body.comment,
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return await _updated(store, participant_id)


@participants_router.post(
    "/participants/{participant_id}/survey", summary="The end-of-program survey", responses=problems(404, 409)
)
async def survey(
    participant_id: UUID,
    body: Survey,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> ParticipantEvaluationPublic:
    """Satisfaction (1-5), recommendation (0-10) and open text (sealed), once the end assessment is asked."""
    await themselves(store, caller, participant_id)
    await submissions.survey(
        store,
        participant_id,
        body.satisfaction,
        body.recommendation,
        body.text,
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return await _updated(store, participant_id)
