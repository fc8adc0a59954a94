"""Proposals and pairs over HTTP: answer a proposal, end a pair, see a participant's pairs."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, PoolDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.adapters import read_queries
from tandem_pairing.application import pairs
from tandem_pairing.domain.events import EndReason
from tandem_pairing.entrypoints.bodies import Answer, Decline, EndPair
from tandem_pairing.entrypoints.schemas import PairPublic, ParticipantPairs, ProposalPublic

__all__ = ["pairs_router"]

pairs_router = APIRouter(tags=["proposals and pairs"], route_class=StrictJSONRoute)


@pairs_router.post(
    "/proposals/{pair_id}/accept",
    summary="One side accepts; both accepting activates the pair",
    responses=problems(404, 409),
)
async def accept(
    pair_id: UUID, body: Answer, store: StoreDep, metadata: MetadataDep, idempotency: IdempotencyDep, now: NowDep
) -> PairPublic:
    """The participant accepts their proposal; the second acceptance activates the pair. Refused (409 `pair-
    infeasible`) when the pair breaks a hard rule now."""
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
) -> PairPublic:
    """The participant declines, with a reason from a closed list: the proposal is over for both."""
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
) -> PairPublic:
    """End an active pair early; both can be paired again by an incremental round."""
    pair = await pairs.end(store, pair_id, EndReason(body.reason), now=now, metadata=metadata, idempotency=idempotency)
    return PairPublic.of(pair)


@pairs_router.get(
    "/pairs/{pair_id}", summary="A proposal or pair, with its score breakdown and answers", responses=problems(404)
)
async def get_pair(pair_id: UUID, pool: PoolDep) -> ProposalPublic:
    """The proposal or pair as the read model has it: score breakdown, answers, and the hard rules an active pair
    breaks since a profile changed."""
    found = await read_queries.pair_view(pool, pair_id)
    if found is None:
        raise NotFound("no such proposal or pair")
    return ProposalPublic.model_validate(found)


@pairs_router.get(
    "/participants/{participant_id}/pairs", summary="A participant's current and past pairs", responses=problems(404)
)
async def participant_pairs(participant_id: UUID, pool: PoolDep) -> ParticipantPairs:
    """The participant's current (proposed, active) and past proposals and pairs."""
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
