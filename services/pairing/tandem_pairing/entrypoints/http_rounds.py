"""Rounds over HTTP: request one (202, it runs in the background), follow it, list a program's rounds.

A round and its proposals are read from one source, the read model: once it shows a round completed,
it shows all of its proposals. A round accepted a moment ago that the read model has not seen yet is
answered from the write side as `running`, without an outcome.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from tandem_kernel.access import PROGRAM_ADMIN, allow, sees_program, service
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, PoolDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_pairing.adapters import read_queries
from tandem_pairing.adapters import rounds as rounds_table
from tandem_pairing.application import program_settings, rounds
from tandem_pairing.entrypoints.bodies import RoundRequest
from tandem_pairing.entrypoints.schemas import RoundAccepted, RoundPage, RoundPublic

__all__ = ["rounds_router"]

rounds_router = APIRouter(tags=["rounds"], route_class=StrictJSONRoute)

HrOrPlatform = Annotated[Principal, allow(PROGRAM_ADMIN, service("pairing:write"))]
HrOrReader = Annotated[Principal, allow(PROGRAM_ADMIN, service("pairing:read"))]

_NOT_SEEN_YET = ("finished_at", "failure", "pool_size", "matched", "unmatched_count", "rotated_pairs", "total_score")


@rounds_router.post(
    "/programs/{program_id}/rounds",
    status_code=202,
    summary="Start a round (full, incremental or rotation); follow it at the Location given",
    responses=problems(404, 409),
)
async def request_round(
    program_id: UUID,
    body: RoundRequest,
    response: Response,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: HrOrPlatform,
) -> RoundAccepted:
    """Record the round and run it in the background, on whichever replica is free (202); follow it
    at `Location`. A program has one round running at a time; a full round needs no open proposals
    or pairs."""
    round_id, _ = await rounds.request(
        store, program_id, body.kind, now=now, metadata=metadata, idempotency=idempotency
    )
    found = await rounds_table.find(store.pool, round_id)
    response.headers["Location"] = f"/rounds/{round_id}"
    return RoundAccepted(round_id=round_id, program_id=program_id, status=found["status"] if found else "running")


@rounds_router.get(
    "/rounds/{round_id}",
    summary="A round: its status, outcome, unmatched people and proposals",
    responses=problems(404),
)
async def get_round(
    round_id: UUID,
    pool: PoolDep,
    caller: HrOrReader,
    after: Annotated[UUID | None, Query(description="the last pair id of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RoundPublic:
    """The round's status and outcome, who was left unmatched and why, and its proposals page by page (`after`,
    `limit`)."""
    found = await read_queries.round_view(pool, round_id)
    if found is None:
        accepted = await rounds_table.find(pool, round_id)
        if accepted is None:
            raise NotFound("no such round")
        # Accepted a moment ago: the read model has not seen it yet, so neither its outcome nor proposals.
        found = {**accepted, **dict.fromkeys(_NOT_SEEN_YET), "status": "running", "unmatched": [], "rejected_pins": []}
    if not sees_program(caller, found["program_id"]):
        raise NotFound("no such round")  # an admin of other programs: as if it did not exist
    proposals = await read_queries.proposals_of_round(pool, round_id, after, limit)
    return RoundPublic.of(found, proposals, limit)


@rounds_router.get(
    "/programs/{program_id}/rounds", summary="A program's rounds, oldest first, page by page", responses=problems(404)
)
async def list_rounds(
    program_id: UUID,
    store: StoreDep,
    caller: HrOrReader,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
) -> RoundPage:
    """Every round of the program, oldest first, without their proposals; follow `next_cursor`."""
    await program_settings.program_terms(store, program_id)
    items, next_cursor = await read_queries.rounds_of_program(store.pool, program_id, cursor, limit)
    return RoundPage.model_validate({"items": items, "next_cursor": next_cursor})
