"""Rounds over HTTP: request one (202, it runs in the background) and follow it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from tandem_kernel.api import IdempotencyKeyDep, MetadataDep, PoolDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.strict import StrictJSONRoute

from tandem_pairing.adapters import read_model
from tandem_pairing.adapters import rounds as rounds_table
from tandem_pairing.application import rounds
from tandem_pairing.entrypoints.dependencies import NowDep, RoundRunnerDep
from tandem_pairing.entrypoints.schemas import RoundAccepted, RoundPublic, RoundRequest

__all__ = ["rounds_router"]

rounds_router = APIRouter(tags=["rounds"], route_class=StrictJSONRoute)


@rounds_router.post(
    "/programs/{program_id}/rounds",
    status_code=202,
    summary="Start a round (full, incremental or rotation); follow it at the Location given",
)
async def request_round(
    program_id: UUID,
    body: RoundRequest,
    response: Response,
    store: StoreDep,
    runner: RoundRunnerDep,
    metadata: MetadataDep,
    idempotency_key: IdempotencyKeyDep,
    now: NowDep,
) -> RoundAccepted:
    round_id, new = await rounds.request(
        store, program_id, body.kind, now=now, metadata=metadata, idempotency_key=idempotency_key
    )
    if new:
        runner.submit(round_id)
    found = await rounds_table.find(store.pool, round_id)
    response.headers["Location"] = f"/rounds/{round_id}"
    return RoundAccepted(round_id=round_id, program_id=program_id, status=found["status"] if found else "running")


@rounds_router.get("/rounds/{round_id}", summary="A round: its status, outcome, unmatched people and proposals")
async def get_round(
    round_id: UUID,
    pool: PoolDep,
    after: Annotated[UUID | None, Query(description="the last pair id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RoundPublic:
    found = await rounds_table.find(pool, round_id)
    if found is None:
        raise NotFound("no such round")
    proposals = await read_model.proposals_of_round(pool, round_id, after, limit)
    return RoundPublic.of(found, proposals, limit)
