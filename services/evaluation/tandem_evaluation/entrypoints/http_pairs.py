"""Sessions and pairs over HTTP: feedback on a held session, the fit question, a pair's evaluation."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, allow, sees_program
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, PoolDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_evaluation.adapters import facts
from tandem_evaluation.application import submissions
from tandem_evaluation.entrypoints.bodies import FitAnswerBody, SessionFeedback
from tandem_evaluation.entrypoints.http_participants import themselves
from tandem_evaluation.entrypoints.schemas import PairEvaluationPublic, SessionRating
from tandem_evaluation.entrypoints.views import pair_view

__all__ = ["pairs_router"]

pairs_router = APIRouter(tags=["sessions and pairs"], route_class=StrictJSONRoute)

Themselves = Annotated[Principal, allow(PARTICIPANT)]
HrOrAMember = Annotated[Principal, allow(PROGRAM_ADMIN, PARTICIPANT)]


@pairs_router.post("/sessions/{session_id}/feedback", summary="Rate a held session", responses=problems(404, 409))
async def session_feedback(
    session_id: UUID,
    body: SessionFeedback,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> SessionRating:
    """Usefulness and trust (1-5) of a session of the participant's pair that was held, with an optional
    comment (sealed); once per session."""
    await themselves(store, caller, body.participant_id)
    await submissions.give_feedback(
        store,
        body.participant_id,
        session_id,
        body.usefulness,
        body.trust,
        body.comment,
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return SessionRating(session_id=session_id, usefulness=body.usefulness, trust=body.trust)


@pairs_router.post("/pairs/{pair_id}/fit", summary="Is this pair a good fit?", responses=problems(404, 409))
async def answer_fit(
    pair_id: UUID,
    body: FitAnswerBody,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> PairEvaluationPublic:
    """After the pair's first held session. Two "no" (both, or one person twice) publish `PairFitFailed`:
    pairing then ends the pair and pairs the two with other people."""
    await themselves(store, caller, body.participant_id)
    await submissions.answer_fit(
        store, pair_id, body.participant_id, body.good_fit, now=now, metadata=metadata, idempotency=idempotency
    )
    pair = await facts.load_pair(store.pool, pair_id)
    assert pair is not None
    return await pair_view(store.pool, pair)


@pairs_router.get(
    "/pairs/{pair_id}/evaluation",
    summary="A pair's evaluation: session ratings, fit answers, health",
    responses=problems(404),
)
async def pair_evaluation(pair_id: UUID, pool: PoolDep, caller: HrOrAMember) -> PairEvaluationPublic:
    """For the two members, and the admins of the pair's program."""
    pair = await facts.load_pair(pool, pair_id)
    if pair is None:
        raise NotFound("no such pair")
    hr = caller.has(Roles.PROGRAM_ADMIN) and sees_program(caller, pair.program_id)
    if not hr:
        members = [await facts.load_participant(pool, person) for person in (pair.junior_id, pair.senior_id)]
        if not any(member is not None and caller.is_employee(member.employee_id) for member in members):
            raise NotFound("no such pair")
    return await pair_view(pool, pair)
