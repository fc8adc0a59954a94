"""Each participant's iCalendar feed at a secret, revocable URL, read back with the icalendar library:
times in the participant's own zone (TZID with its VTIMEZONE) that are the same instants as the
sessions', stable UIDs, SEQUENCE rising with each change, cancellations as STATUS:CANCELLED."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from .conftest import Pair, Sessions

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKYO, PARIS = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Paris")


def weekdays(start: int, end: int) -> list[dict[str, Any]]:
    return [{"weekday": day, "start": time(start), "end": time(end)} for day in range(5)]


async def feed_url(http: httpx.AsyncClient, service: Sessions, participant_id: Any) -> str:
    issued = await http.post(f"/participants/{participant_id}/calendar-feed", headers=await service.as_(participant_id))
    assert issued.status_code == 201, issued.text
    url: str = issued.json()["url"]
    return url


def events_of(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


async def test_the_feed_shows_each_session_in_the_participants_zone_and_follows_every_change(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    # Tokyo 16:00-19:00 is 08:00-11:00 in Paris (winter): a pair eight hours apart.
    junior = {"time_zone": "Asia/Tokyo", "country": "JP", "availability": weekdays(16, 19)}
    senior = {"time_zone": "Europe/Paris", "country": "FR", "availability": weekdays(8, 11)}
    pair: Pair = await service.pair(junior, senior)
    sessions = (await http.get(f"/pairs/{pair.pair_id}/sessions", headers=await service.as_(pair.junior_id))).json()[
        "sessions"
    ]
    first, second = sessions[0], sessions[1]
    tokyo_url = await feed_url(http, service, pair.junior_id)
    paris_url = await feed_url(http, service, pair.senior_id)

    fetched = await http.get(tokyo_url)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(fetched.content)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    tokyo_events = events_of(fetched.content)
    paris_events = events_of((await http.get(paris_url)).content)
    assert len(tokyo_events) == len(sessions) and tokyo_events.keys() == paris_events.keys()
    for session in sessions:
        uid = f"{session['session_id']}@sessions.tandem"
        starts = datetime.fromisoformat(session["starts_at"])
        in_tokyo, in_paris = tokyo_events[uid]["DTSTART"].dt, paris_events[uid]["DTSTART"].dt
        assert in_tokyo == starts and in_paris == starts  # the same instant ...
        assert str(tokyo_events[uid]["DTSTART"].params["TZID"]) == "Asia/Tokyo"  # ... on each one's wall clock
        assert str(paris_events[uid]["DTSTART"].params["TZID"]) == "Europe/Paris"
        assert 16 <= in_tokyo.astimezone(TOKYO).hour < 19 and 8 <= in_paris.astimezone(PARIS).hour < 11
        assert tokyo_events[uid]["DTEND"].dt - in_tokyo == timedelta(minutes=45)
        assert int(tokyo_events[uid]["SEQUENCE"]) == 0 and str(tokyo_events[uid]["STATUS"]) == "CONFIRMED"

    # Move the first session a day later (the senior proposes, the junior accepts), cancel the second.
    moved_to = datetime.fromisoformat(first["starts_at"]) + timedelta(days=1)
    if moved_to.astimezone(PARIS).weekday() >= 5:
        moved_to += timedelta(days=2)
    proposed = await http.post(
        f"/sessions/{first['session_id']}/reschedule",
        json={"participant_id": str(pair.senior_id), "starts_at": moved_to.isoformat()},
        headers=await service.as_(pair.senior_id),
    )
    assert proposed.status_code == 200, proposed.text
    accepted = await http.post(
        f"/sessions/{first['session_id']}/reschedule/accept",
        json={"participant_id": str(pair.junior_id)},
        headers=await service.as_(pair.junior_id),
    )
    assert accepted.status_code == 200, accepted.text
    cancelled = await http.post(
        f"/sessions/{second['session_id']}/cancel",
        json={"participant_id": str(pair.junior_id), "reason": "workload"},
        headers=await service.as_(pair.junior_id),
    )
    assert cancelled.status_code == 200

    after = events_of((await http.get(tokyo_url)).content)
    first_uid, second_uid = f"{first['session_id']}@sessions.tandem", f"{second['session_id']}@sessions.tandem"
    assert after.keys() == tokyo_events.keys()  # stable UIDs: the same events, changed
    assert after[first_uid]["DTSTART"].dt == moved_to and int(after[first_uid]["SEQUENCE"]) == 1
    assert str(after[second_uid]["STATUS"]) == "CANCELLED" and int(after[second_uid]["SEQUENCE"]) == 1


async def test_a_feed_url_is_the_participants_own_and_rotating_it_revokes_the_old_one(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    paris = {"time_zone": "Europe/Paris", "country": "FR", "availability": weekdays(9, 12)}
    pair: Pair = await service.pair(paris, paris)
    first_url = await feed_url(http, service, pair.junior_id)

    someone_else = await http.post(
        f"/participants/{pair.junior_id}/calendar-feed", headers=await service.as_(pair.senior_id)
    )
    second_url = await feed_url(http, service, pair.junior_id)

    assert someone_else.status_code == 404
    assert first_url != second_url
    assert (await http.get(first_url)).status_code == 404
    assert (await http.get(second_url)).status_code == 200
    revoked = await http.delete(
        f"/participants/{pair.junior_id}/calendar-feed", headers=await service.as_(pair.junior_id)
    )
    assert revoked.status_code == 204
    assert (await http.get(second_url)).status_code == 404
