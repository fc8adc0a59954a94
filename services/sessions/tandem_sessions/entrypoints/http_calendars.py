"""Calendar feeds: each participant's secret iCalendar URL, issued (and so rotated) by themselves,
and the feed itself, served to whoever holds the URL (calendar apps send no token)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from tandem_kernel.access import PARTICIPANT, allow, public
from tandem_kernel.api import NowDep, PoolDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_sessions.adapters import calendars, directory, ledger
from tandem_sessions.application import feeds
from tandem_sessions.entrypoints.schemas import FeedPublic

__all__ = ["calendars_router"]

calendars_router = APIRouter(tags=["calendars"], route_class=StrictJSONRoute)

Themselves = Annotated[Principal, allow(PARTICIPANT)]
CALENDAR_TYPE = "text/calendar; charset=utf-8"


async def _themselves(pool: PoolDep, caller: Principal, participant_id: UUID) -> directory.Profile:
    profile = await directory.load_profile(pool, participant_id)
    if profile is None or not caller.is_employee(profile.employee_id):
        raise NotFound("no such participant")
    return profile


@calendars_router.post(
    "/participants/{participant_id}/calendar-feed",
    summary="Issue the participant's secret calendar URL (revoking the previous one)",
    status_code=201,
    responses=problems(404),
)
async def issue_feed(
    participant_id: UUID, request: Request, pool: PoolDep, now: NowDep, caller: Themselves
) -> FeedPublic:
    """A new secret URL for Outlook, Google Calendar and the like to subscribe to; the previous URL
    stops working at once (this is how a leaked URL is rotated)."""
    await _themselves(pool, caller, participant_id)
    token = await feeds.issue(pool, participant_id, now=now)
    url = str(request.url_for("calendar_feed", token=f"{token}.ics"))
    return FeedPublic(participant_id=participant_id, url=url)


@calendars_router.delete(
    "/participants/{participant_id}/calendar-feed",
    summary="Revoke the participant's calendar URL",
    status_code=204,
    responses=problems(404),
)
async def revoke_feed(participant_id: UUID, pool: PoolDep, caller: Themselves) -> Response:
    """The current URL stops working (if there was one: revoking twice is no error)."""
    await _themselves(pool, caller, participant_id)
    await feeds.revoke(pool, participant_id)
    return Response(status_code=204)


@calendars_router.get(
    "/calendars/{token}",
    name="calendar_feed",
    summary="A participant's sessions as an iCalendar feed (the secret URL)",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **problems(404)},
)
async def calendar_feed(token: str, pool: PoolDep, now: NowDep, _: Annotated[None, public()]) -> Response:
    """Public: the URL itself is the secret (calendar apps cannot send a token). 404 once revoked."""
    participant_id = await feeds.owner(pool, token.removesuffix(".ics"))
    profile = await directory.load_profile(pool, participant_id) if participant_id is not None else None
    if participant_id is None or profile is None:
        raise NotFound("no such calendar")
    rows = await ledger.sessions_of_person(pool, participant_id)
    body = calendars.feed(profile.person().time_zone, rows, now=now)
    return Response(content=body, media_type=CALENDAR_TYPE, headers={"Cache-Control": "private, max-age=300"})
