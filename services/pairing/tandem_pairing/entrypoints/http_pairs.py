"""Proposals and pairs over HTTP: answer a proposal, end a pair, see a participant's pairs."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, allow, sees_program, service
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, PoolDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.adapters import read_queries
from tandem_pairing.application import pairs
from tandem_pairing.domain.events import EndReason
from tandem_pairing.domain.pair import Pair
from tandem_pairing.entrypoints.bodies import Answer, Decline, EndPair
from tandem_pairing.entrypoints.schemas import PairPublic, ParticipantPairs, ProposalPublic

__all__ = ["pairs_router"]

pairs_router = APIRouter(tags=["proposals and pairs"], route_class=StrictJSONRoute)

# Who may call what (see tandem_kernel.access). Answering a proposal is the participant's own act.
Themselves = Annotated[Principal, allow(PARTICIPANT)]
HrOrAMember = Annotated[Principal, allow(PROGRAM_ADMIN, PARTICIPANT)]
HrReaderOrAMember = Annotated[Principal, allow(PROGRAM_ADMIN, service("pairing:read"), PARTICIPANT)]

_NO_PAIR = "no such proposal or pair"


async def _is(pool: asyncpg.Pool, caller: Principal, participant_id: UUID) -> bool:
    """Whether the caller is the employee behind `participant_id` (an enrollment)."""
    member = await pool_table.load_member(pool, participant_id)
    return member is not None and caller.is_employee(member.employee_id)


async def _may_see_pair(pool: asyncpg.Pool, caller: Principal, pair: Pair) -> bool:
    if caller.has(Roles.PROGRAM_ADMIN) or caller.has(Roles.SERVICE):
        return sees_program(caller, pair.program_id)
    return await _is(pool, caller, pair.junior_id) or await _is(pool, caller, pair.senior_id)


async def _answering(store: StoreDep, caller: Principal, pair_id: UUID, participant_id: UUID) -> None:
    """A participant answers for themselves, on a proposal of theirs; anything else is not there."""
    pair = await pairs.load(store, pair_id)
    if participant_id not in (pair.junior_id, pair.senior_id) or not await _is(store.pool, caller, participant_id):
        raise NotFound(_NO_PAIR)


@pairs_router.post(
    "/proposals/{pair_id}/accept",
    summary="One side accepts; both accepting activates the pair",
    responses=problems(404, 409),
)
async def accept(
    pair_id: UUID,
    body: Answer,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> PairPublic:
    """The participant accepts their proposal; the second acceptance activates the pair. Refused (409 `pair-
    infeasible`) when the pair breaks a hard rule now."""
    await _answering(store, caller, pair_id, body.participant_id)
    pair = await pairs.accept(store, pair_id, body.participant_id, now=now, metadata=metadata, idempotency=idempotency)
    return PairPublic.of(pair)


@pairs_router.post(
    "/proposals/{pair_id}/decline", summary="One side declines: the proposal is over", responses=problems(404, 409)
)
async def decline(
    pair_id: UUID,
    body: Decline,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> PairPublic:
    """The participant declines, with a reason from a closed list: the proposal is over for both."""
    await _answering(store, caller, pair_id, body.participant_id)
    pair = await pairs.decline(
        store, pair_id, body.participant_id, body.reason, now=now, metadata=metadata, idempotency=idempotency
    )
    return PairPublic.of(pair)


@pairs_router.post("/pairs/{pair_id}/end", summary="End an active pair early", responses=problems(404, 409))
async def end(
    pair_id: UUID,
    body: EndPair,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: HrOrAMember,
) -> PairPublic:
    """End an active pair early (HR, or one of the two); both can be paired again by an incremental round."""
    if not await _may_see_pair(store.pool, caller, await pairs.load(store, pair_id)):
        raise NotFound(_NO_PAIR)
    pair = await pairs.end(store, pair_id, EndReason(body.reason), now=now, metadata=metadata, idempotency=idempotency)
    return PairPublic.of(pair)


@pairs_router.get(
    "/pairs/{pair_id}", summary="A proposal or pair, with its score breakdown and answers", responses=problems(404)
)
async def get_pair(pair_id: UUID, store: StoreDep, caller: HrReaderOrAMember) -> ProposalPublic:
    """The proposal or pair as the read model has it: score breakdown, answers, and the hard rules an active pair
    breaks since a profile changed."""
    found = await read_queries.pair_view(store.pool, pair_id)
    if found is None or not await _may_see_pair(store.pool, caller, await pairs.load(store, pair_id)):
        raise NotFound(_NO_PAIR)
    return ProposalPublic.model_validate(found)


@pairs_router.get(
    "/participants/{participant_id}/pairs", summary="A participant's current and past pairs", responses=problems(404)
)
async def participant_pairs(participant_id: UUID, pool: PoolDep, caller: HrReaderOrAMember) -> ParticipantPairs:
    """The participant's current (proposed, active) and past proposals and pairs."""
    member = await pool_table.load_member(pool, participant_id)
    theirs = member is not None and caller.is_employee(member.employee_id)
    hr = caller.has(Roles.PROGRAM_ADMIN) or caller.has(Roles.SERVICE)
    if not theirs and not (hr and (member is None or sees_program(caller, member.program_id))):
        raise NotFound("no such participant")
    found = [
        ProposalPublic.model_validate(row) for row in await read_queries.pairs_of_participant(pool, participant_id)
    ]
    if not found and await pool_table.load_member(pool, participant_id) is None:
        raise NotFound("no such participant")
    return ParticipantPairs(
        participant_id=participant_id,
        current=[p for p in found if p.status in ("proposed", "active")],
        past=[p for p in found if p.status not in ("proposed", "active")],
    )
