"""The reports over HTTP: JSON by default, CSV with `?format=csv` (or `Accept: text/csv`).

Aggregates are for program admins, reporting readers and platforms holding `reporting:read`; the
pair health list (pairs named by id) for the program's own admins only. Every answer says how fresh
it is, and can wait for an event the caller caused (`after`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from tandem_kernel.access import PROGRAM_ADMIN, REPORTING_READER, allow, sees_program, service
from tandem_kernel.api import NowDep, PoolDep
from tandem_kernel.errors import DomainError, NotFound
from tandem_kernel.identity import Principal

from tandem_reporting.adapters import queries
from tandem_reporting.application import reports
from tandem_reporting.application.freshness import applied, freshness
from tandem_reporting.domain.filters import DIMENSIONS, Filters
from tandem_reporting.entrypoints.csv_export import to_csv

__all__ = ["reports_router"]

reports_router = APIRouter(prefix="/programs", tags=["reports"])

AggregateReader = Annotated[Principal, allow(PROGRAM_ADMIN, REPORTING_READER, service("reporting:read"))]
ProgramAdmin = Annotated[Principal, allow(PROGRAM_ADMIN)]
Dimension = Literal["department", "site", "country", "role", "job_level"]
assert set(Dimension.__args__) == set(DIMENSIONS)  # type: ignore[attr-defined]


async def _filters(  # async: FastAPI runs a plain `def` dependency in a worker thread
    department: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    site: Annotated[str | None, Query(min_length=1, max_length=120)] = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    role: Literal["junior", "senior"] | None = None,
    job_level: Annotated[int | None, Query(ge=0, le=100)] = None,
    since: Annotated[date | None, Query(description="Participants enrolled (sessions starting) from this day.")] = None,
    until: Annotated[date | None, Query(description="… up to this day, excluded.")] = None,
) -> Filters:
    if since is not None and until is not None and until <= since:
        raise DomainError("`until` must come after `since`", field="until")
    return Filters(department, site, country, role, job_level, since, until)


class _Answer:
    """The common parameters of every report: waiting for an event, and format; and how an answer is
    made: one snapshot for the figures and their freshness."""

    def __init__(self, after: UUID | None, wait: float, csv: bool) -> None:
        self.after, self.wait, self.csv = after, wait, csv

    async def of(
        self,
        pool: asyncpg.Pool,
        program_id: UUID | None,
        filters: Filters | None,
        name: str,
        produce: Callable[[asyncpg.Connection], Awaitable[Any]],
    ) -> Response:
        waited = None
        if self.after is not None:
            waited = {"event_id": self.after, "applied": await applied(pool, self.after, wait=self.wait)}
        async with queries.reading(pool) as db:
            if program_id is not None and not await queries.program_known(db, program_id):
                raise NotFound("no such program (or reporting has not heard of it yet)")
            report = await produce(db)
            fresh = await freshness(db, waited)
        if self.csv:
            name = f"{name}-{program_id}" if program_id else name
            return Response(
                to_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        body = {
            "program_id": program_id,
            "filters": filters.__dict__ if filters is not None else None,
            "freshness": fresh,
            "report": report,
        }
        return JSONResponse(jsonable_encoder(body))


async def _answer(
    request: Request,
    after: Annotated[
        UUID | None, Query(description="Wait until the read model has applied this event (one you caused).")
    ] = None,
    tandem_after_event: Annotated[UUID | None, Header(description="Same as `after`.")] = None,
    wait: Annotated[float, Query(ge=0, le=10, description="How long to wait for `after`, in seconds.")] = 5.0,
    format: Literal["json", "csv"] | None = None,
) -> _Answer:
    wants_csv = "text/csv" in request.headers.get("accept", "")
    return _Answer(after or tandem_after_event, wait, format == "csv" or (format is None and wants_csv))


AnswerDep = Annotated[_Answer, Depends(_answer)]

# Every report answers JSON, or CSV when asked: both documented (schemathesis found the CSV undocumented).
_REPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report with its freshness (JSON), or its rows (CSV: `?format=csv`, `Accept: text/csv`).",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}},
    }
}
ReportFilters = Annotated[Filters, Depends(_filters)]


@reports_router.get("", summary="The programs reporting knows, with their participant counts", responses=_REPORT)
async def list_programs(pool: PoolDep, caller: AggregateReader, answer: AnswerDep) -> Response:
    async def visible(db: asyncpg.Connection) -> list[dict[str, Any]]:
        return [program for program in await queries.programs(db) if sees_program(caller, program["program_id"])]

    return await answer.of(pool, None, None, "programs", visible)


@reports_router.get(
    "/{program_id}/overview", summary="Funnel, proposals, sessions, pairs and silo-breaking", responses=_REPORT
)
async def program_overview(
    program_id: UUID, pool: PoolDep, _: AggregateReader, filters: ReportFilters, answer: AnswerDep
) -> Response:
    return await answer.of(pool, program_id, filters, "overview", lambda db: reports.overview(db, program_id, filters))


@reports_router.get(
    "/{program_id}/breakdowns/{dimension}", summary="The overview per department, site, role …", responses=_REPORT
)
async def program_breakdown(
    program_id: UUID, dimension: Dimension, pool: PoolDep, _: AggregateReader, filters: ReportFilters, answer: AnswerDep
) -> Response:
    return await answer.of(
        pool,
        program_id,
        filters,
        f"breakdown-{dimension}",
        lambda db: reports.breakdown(db, program_id, dimension, filters),
    )


@reports_router.get(
    "/{program_id}/impact",
    summary="Skill deltas, feedback, satisfaction and NPS, practices, objectives; small groups suppressed",
    responses=_REPORT,
)
async def program_impact(
    program_id: UUID, pool: PoolDep, _: AggregateReader, filters: ReportFilters, answer: AnswerDep
) -> Response:
    """Figures from feedback, assessments and surveys for groups of fewer than 5 people are not shown
    (`suppressed: "fewer than 5"`), also through combinations and differences of filters: dates do
    not narrow them, job level suppresses them."""
    return await answer.of(pool, program_id, filters, "impact", lambda db: reports.impact(db, program_id, filters))


@reports_router.get(
    "/{program_id}/weekly", summary="Enrollments, sessions held and feedback per week", responses=_REPORT
)
async def program_weekly(
    program_id: UUID, pool: PoolDep, _: AggregateReader, filters: ReportFilters, answer: AnswerDep
) -> Response:
    return await answer.of(pool, program_id, filters, "weekly", lambda db: reports.weekly(db, program_id, filters))


@reports_router.get(
    "/{program_id}/pair-health",
    summary="Pairs at risk or needing attention, days since their last session",
    responses=_REPORT,
)
async def program_pair_health(
    program_id: UUID, pool: PoolDep, now: NowDep, _: ProgramAdmin, answer: AnswerDep
) -> Response:
    """For the program's own admins: pairs named by their ids and their participants' ids."""
    return await answer.of(pool, program_id, None, "pair-health", lambda db: reports.pair_health(db, program_id, now))
