"""Invitations by e-mail, received by a real SMTP server (aiosmtpd) and read back with the icalendar
library: a METHOD:REQUEST per planned session to each of the two, in their own time zone; a moved
session as an update (same UID, higher SEQUENCE); a cancelled one as METHOD:CANCEL."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from tandem_kernel.testing import eventually

from .conftest import Sessions

pytestmark = pytest.mark.asyncio(loop_scope="module")


def weekdays(start: int, end: int) -> list[dict[str, Any]]:
    return [{"weekday": day, "start": time(start), "end": time(end)} for day in range(5)]


def invitation(message: EmailMessage) -> icalendar.Calendar:
    part = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


def of_session(service: Sessions, session_id: str) -> list[tuple[str, icalendar.Calendar]]:
    uid = f"{session_id}@sessions.tandem"
    found = []
    for message in service.mailbox.messages:
        calendar = invitation(message)
        if str(next(iter(calendar.walk("VEVENT")))["UID"]) == uid:
            found.append((str(message["To"]), calendar))
    return found


async def test_each_planned_moved_or_cancelled_session_reaches_both_calendars_as_a_meeting_request(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    junior = {"time_zone": "America/New_York", "country": "US", "availability": weekdays(8, 11)}
    senior = {"time_zone": "Europe/Paris", "country": "FR", "availability": weekdays(14, 17)}
    pair = await service.pair(junior, senior)
    sessions = (await http.get(f"/pairs/{pair.pair_id}/sessions", headers=await service.as_(pair.junior_id))).json()[
        "sessions"
    ]
    first, second = sessions[0], sessions[1]
    addresses = {f"{service.enrollment.employees[p]}@example.com" for p in (pair.junior_id, pair.senior_id)}

    await eventually(lambda: _received(service, first["session_id"], 2), timeout=30)
    requests = of_session(service, first["session_id"])
    assert {to for to, _ in requests} == addresses
    for to, calendar in requests:
        assert str(calendar["METHOD"]) == "REQUEST"
        [event] = calendar.walk("VEVENT")
        starts = event["DTSTART"].dt
        assert starts == datetime.fromisoformat(first["starts_at"])
        zone = "America/New_York" if to.startswith(service.enrollment.employees[pair.junior_id]) else "Europe/Paris"
        assert str(event["DTSTART"].params["TZID"]) == zone
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == [zone]
        assert int(event["SEQUENCE"]) == 0
        assert {str(attendee).removeprefix("mailto:") for attendee in event["ATTENDEE"]} == addresses
        local = starts.astimezone(ZoneInfo(zone))
        assert (8 <= local.hour < 11) if zone == "America/New_York" else (14 <= local.hour < 17)

    moved_to = datetime.fromisoformat(first["starts_at"]) + timedelta(days=1)
    if moved_to.astimezone(ZoneInfo("Europe/Paris")).weekday() >= 5:
        moved_to += timedelta(days=2)
    proposed = await http.post(
        f"/sessions/{first['session_id']}/reschedule",
        json={"participant_id": str(pair.junior_id), "starts_at": moved_to.isoformat()},
        headers=await service.as_(pair.junior_id),
    )
    assert proposed.status_code == 200, proposed.text
    await http.post(
        f"/sessions/{first['session_id']}/reschedule/accept",
        json={"participant_id": str(pair.senior_id)},
        headers=await service.as_(pair.senior_id),
    )
    await http.post(
        f"/sessions/{second['session_id']}/cancel",
        json={"participant_id": str(pair.senior_id), "reason": "workload"},
        headers=await service.as_(pair.senior_id),
    )

    await eventually(lambda: _received(service, first["session_id"], 4), timeout=30)
    await eventually(lambda: _received(service, second["session_id"], 4), timeout=30)
    updates = [calendar for _, calendar in of_session(service, first["session_id"])[2:]]
    cancels = [calendar for _, calendar in of_session(service, second["session_id"])[2:]]
    for calendar in updates:
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 1
        assert event["DTSTART"].dt == moved_to
    for calendar in cancels:
        [event] = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
        assert int(event["SEQUENCE"]) == 1


async def _received(service: Sessions, session_id: str, count: int) -> bool:
    return len(of_session(service, session_id)) >= count
