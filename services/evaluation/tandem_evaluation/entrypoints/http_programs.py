"""A program's impact over HTTP: aggregates only, for its admins and for reporting."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from tandem_kernel.access import PROGRAM_ADMIN, REPORTING_READER, allow, sees_program, service
from tandem_kernel.api import PoolDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_evaluation.adapters import facts
from tandem_evaluation.entrypoints.schemas import ProgramImpactPublic
from tandem_evaluation.entrypoints.views import program_view

__all__ = ["programs_router"]

programs_router = APIRouter(tags=["programs"], route_class=StrictJSONRoute)

HrOrReporting = Annotated[Principal, allow(PROGRAM_ADMIN, REPORTING_READER, service("evaluation:read"))]


@programs_router.get(
    "/programs/{program_id}/impact",
    summary="A program's impact: skill deltas with confidence intervals, practices, NPS, completion, comparison",
    responses=problems(404),
)
async def program_impact(program_id: UUID, pool: PoolDep, caller: HrOrReporting) -> ProgramImpactPublic:
    """Per skill and role, the mean change of the paired with its 95 % t interval; the share with an adopted
    practice, NPS and completion; against those never paired, the difference in differences per skill with
    its 95 % Welch interval and group sizes (or why there are too few people to say)."""
    if not sees_program(caller, program_id) or await facts.load_program(pool, program_id) is None:
        raise NotFound("no such program")
    return await program_view(pool, program_id)
