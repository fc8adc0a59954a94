"""From a pair's activation to its sessions over HTTP: planning, who sees what, reschedule, cancel,
attendance, agendas and notes, and the end of the pair."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from tandem_pairing.domain import events as pairing_events
from tandem_sessions.application import scheduler

from .conftest import Pair, Sessions

pytestmark = pytest.mark.asyncio(loop_scope="module")

PARIS, LONDON, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/London"), ZoneInfo("America/New_York")


def weekdays(start: int, end: int) -> list[dict[str, Any]]:
    return [{"weekday": day, "start": time(start), "end": time(end)} for day in range(5)]


PARIS_MORNINGS = {"time_zone": "Europe/Paris", "country": "FR", "availability": weekdays(9, 12)}
LONDON_MORNINGS = {"time_zone": "Europe/London", "country": "GB", "availability": weekdays(9, 12)}


async def sessions_of(http: httpx.AsyncClient, service: Sessions, pair: Pair) -> dict[str, Any]:
    response = await http.get(f"/pairs/{pair.pair_id}/sessions", headers=await service.as_(pair.junior_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_activated_pair_gets_its_sessions_inside_both_availabilities(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)

    body = await sessions_of(http, service, pair)

    planned = body["sessions"]
    assert body["needs_attention"] is None
    assert len(planned) == 7  # 91 days of rotation at a 14-day cadence, the first a day after activation
    for session in planned:
        starts = datetime.fromisoformat(session["starts_at"])
        ends = datetime.fromisoformat(session["ends_at"])
        assert ends - starts == timedelta(minutes=45)
        # 10:00-12:00 in Paris is 09:00-11:00 in London: both mornings at once.
        assert time(10) <= starts.astimezone(PARIS).time() and ends.astimezone(PARIS).time() <= time(12)
        assert time(9) <= starts.astimezone(LONDON).time() and ends.astimezone(LONDON).time() <= time(11)
        assert session["status"] == "scheduled" and session["sequence"] == 0
    gaps = {
        datetime.fromisoformat(b["starts_at"]) - datetime.fromisoformat(a["starts_at"]) for a, b in pairwise(planned)
    }
    assert all(timedelta(days=13) <= gap <= timedelta(days=15) for gap in gaps), gaps


async def test_a_pair_without_a_common_slot_needs_attention(service: Sessions, http: httpx.AsyncClient) -> None:
    new_york_mornings = {"time_zone": "America/New_York", "country": "US", "availability": weekdays(9, 11)}
    pair = await service.pair(PARIS_MORNINGS, new_york_mornings)  # 15:00-17:00 in Paris: never together

    body = await sessions_of(http, service, pair)

    assert body["sessions"] == []
    assert body["needs_attention"] == "no_common_slot"
    overview = await http.get(f"/programs/{pair.program_id}/pairs", headers=await service.hr())
    assert [(p["pair_id"], p["needs_attention"], p["scheduled"]) for p in overview.json()] == [
        (str(pair.pair_id), "no_common_slot", 0)
    ]
    assert (
        await http.get(f"/programs/{pair.program_id}/pairs", headers=await service.as_(pair.junior_id))
    ).status_code == 403


async def test_participants_see_their_own_pairs_only_and_admins_their_programs(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    other = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    session_id = (await sessions_of(http, service, pair))["sessions"][0]["session_id"]
    stranger = await service.as_(other.junior_id)

    assert (await http.get(f"/pairs/{pair.pair_id}/sessions", headers=stranger)).status_code == 404
    assert (await http.get(f"/sessions/{session_id}", headers=stranger)).status_code == 404
    assert (await http.get(f"/participants/{pair.junior_id}/sessions", headers=stranger)).status_code == 404
    assert (await http.get(f"/sessions/{session_id}", headers=await service.as_(pair.senior_id))).status_code == 200
    assert (await http.get(f"/pairs/{pair.pair_id}/sessions", headers=await service.hr())).status_code == 200
    theirs = await http.get(f"/participants/{pair.senior_id}/sessions", headers=await service.as_(pair.senior_id))
    assert theirs.status_code == 200 and len(theirs.json()) == 7
    assert (await http.get(f"/pairs/{pair.pair_id}/sessions")).status_code == 401


async def test_a_reschedule_is_proposed_by_one_and_accepted_by_the_other(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    first = (await sessions_of(http, service, pair))["sessions"][0]
    url = f"/sessions/{first['session_id']}/reschedule"
    junior, senior = await service.as_(pair.junior_id), await service.as_(pair.senior_id)
    day = datetime.fromisoformat(first["starts_at"]).astimezone(PARIS).date() + timedelta(days=1)
    if day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    evening = datetime.combine(day, time(18), tzinfo=PARIS)
    fits = datetime.combine(day, time(11), tzinfo=PARIS)  # 10:00 in London

    outside = await http.post(
        url, json={"participant_id": str(pair.junior_id), "starts_at": evening.isoformat()}, headers=junior
    )
    past = await http.post(
        url, json={"participant_id": str(pair.junior_id), "starts_at": "2020-01-06T10:00:00+01:00"}, headers=junior
    )
    naive = await http.post(
        url, json={"participant_id": str(pair.junior_id), "starts_at": "2027-01-06T10:00:00"}, headers=junior
    )
    for_the_other = await http.post(
        url, json={"participant_id": str(pair.senior_id), "starts_at": fits.isoformat()}, headers=junior
    )
    proposed = await http.post(
        url, json={"participant_id": str(pair.junior_id), "starts_at": fits.isoformat()}, headers=junior
    )
    own = await http.post(f"{url}/accept", json={"participant_id": str(pair.junior_id)}, headers=junior)
    accepted = await http.post(f"{url}/accept", json={"participant_id": str(pair.senior_id)}, headers=senior)

    assert outside.status_code == 409 and past.status_code == 409, (outside.text, past.text)
    assert naive.status_code == 422
    assert for_the_other.status_code == 404
    assert proposed.status_code == 200 and proposed.json()["proposal"]["proposed_by"] == str(pair.junior_id)
    assert own.status_code == 409
    assert accepted.status_code == 200, accepted.text
    assert datetime.fromisoformat(accepted.json()["starts_at"]) == fits
    assert accepted.json()["sequence"] == 1 and accepted.json()["proposal"] is None


async def test_cancelling_twice_in_a_row_puts_the_pair_at_risk_and_late_is_within_a_day(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    first, second = (await sessions_of(http, service, pair))["sessions"][:2]
    senior = await service.as_(pair.senior_id)
    body = {"participant_id": str(pair.senior_id), "reason": "workload"}

    early = await http.post(f"/sessions/{first['session_id']}/cancel", json=body, headers=senior)
    again = await http.post(f"/sessions/{first['session_id']}/cancel", json=body, headers=senior)
    bad = await http.post(
        f"/sessions/{second['session_id']}/cancel", json={**body, "reason": "because"}, headers=senior
    )
    service.clock.set(datetime.fromisoformat(second["starts_at"]) - timedelta(hours=2))
    try:
        late = await http.post(f"/sessions/{second['session_id']}/cancel", json=body, headers=senior)
    finally:
        service.clock.set(service.clock.now().replace(year=2027, month=1, day=4, hour=8, minute=0))

    assert early.status_code == 200 and early.json()["late"] is False and early.json()["status"] == "cancelled"
    assert early.json()["sequence"] == 1 and early.json()["cancelled_by"] == str(pair.senior_id)
    assert again.status_code == 409
    assert bad.status_code == 422
    assert late.status_code == 200 and late.json()["late"] is True
    assert (await sessions_of(http, service, pair))["at_risk"] == ["repeated_cancellation"]


async def test_attendance_is_recorded_after_the_start_and_never_for_a_cancelled_session(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    first, second, third = (await sessions_of(http, service, pair))["sessions"][:3]
    junior = await service.as_(pair.junior_id)
    held = {"participant_id": str(pair.junior_id), "outcome": "held", "duration_minutes": 50}

    too_soon = await http.post(f"/sessions/{first['session_id']}/attendance", json=held, headers=junior)
    await http.post(
        f"/sessions/{third['session_id']}/cancel",
        json={"participant_id": str(pair.junior_id), "reason": "illness"},
        headers=junior,
    )
    service.clock.set(datetime.fromisoformat(third["ends_at"]) + timedelta(hours=1))
    try:
        recorded = await http.post(f"/sessions/{first['session_id']}/attendance", json=held, headers=junior)
        zero = await http.post(
            f"/sessions/{second['session_id']}/attendance", json={**held, "duration_minutes": 0}, headers=junior
        )
        missed = await http.post(
            f"/sessions/{second['session_id']}/attendance",
            json={"participant_id": str(pair.junior_id), "outcome": "missed", "absent": [str(pair.senior_id)]},
            headers=junior,
        )
        on_cancelled = await http.post(f"/sessions/{third['session_id']}/attendance", json=held, headers=junior)
    finally:
        service.clock.set(service.clock.now().replace(year=2027, month=1, day=4, hour=8, minute=0))

    assert too_soon.status_code == 409
    assert recorded.status_code == 200 and recorded.json()["status"] == "held"
    assert recorded.json()["held_minutes"] == 50
    assert zero.status_code == 422
    assert missed.status_code == 200 and missed.json()["absent"] == [str(pair.senior_id)]
    assert on_cancelled.status_code == 409


async def test_the_next_agenda_starts_with_what_the_previous_one_left_open(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(
        {**PARIS_MORNINGS, "skills_wanted": [{"skill": "storytelling", "level": 2}]},
        {**LONDON_MORNINGS, "skills_wanted": [{"skill": "ai_assistants", "level": 1}]},
    )
    first, second = (await sessions_of(http, service, pair))["sessions"][:2]
    junior, senior = await service.as_(pair.junior_id), await service.as_(pair.senior_id)

    seeded = (await http.get(f"/sessions/{first['session_id']}/agenda", headers=senior)).json()
    edited = await http.put(
        f"/sessions/{first['session_id']}/agenda",
        json={
            "participant_id": str(pair.senior_id),
            "items": [
                {"text": "Try an AI assistant on the weekly report", "done": True},
                {"text": "Set up a professional profile", "done": False},
            ],
            "project": "Quarterly review",
        },
        headers=senior,
    )
    carried = (await http.get(f"/sessions/{second['session_id']}/agenda", headers=junior)).json()
    counted = (await http.get(f"/sessions/{first['session_id']}", headers=junior)).json()

    assert [item["text"] for item in seeded["items"]] == [
        "Senior wants to learn: ai_assistants",
        "Junior wants to learn: storytelling",
    ]
    assert seeded["edited"] is False
    assert edited.status_code == 200 and edited.json()["edited"] is True
    assert [item["text"] for item in carried["items"]] == ["Set up a professional profile"]
    assert carried["project"] == "Quarterly review"
    assert counted["agenda_items"] == 2


async def test_notes_are_for_the_two_only_and_go_with_their_author(service: Sessions, http: httpx.AsyncClient) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    first = (await sessions_of(http, service, pair))["sessions"][0]
    url = f"/sessions/{first['session_id']}/notes"
    junior, senior = await service.as_(pair.junior_id), await service.as_(pair.senior_id)

    written = await http.post(
        url, json={"participant_id": str(pair.junior_id), "text": "Show the pivot table"}, headers=junior
    )
    read_by_senior = await http.get(url, headers=senior)
    read_by_hr = await http.get(url, headers=await service.hr())
    stored = await service.pool.fetchval("SELECT sealed FROM notes WHERE session_id = $1", first["session_id"])
    await service.enrollment.withdraw(pair.program_id, pair.junior_id, "junior", erase=True)

    assert written.status_code == 201
    assert [note["text"] for note in read_by_senior.json()] == ["Show the pivot table"]
    assert read_by_hr.status_code == 403
    assert b"pivot" not in stored
    assert (await http.get(url, headers=senior)).json() == []


async def test_when_the_pair_ends_its_future_sessions_are_cancelled(service: Sessions, http: httpx.AsyncClient) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)

    await service.pairing.end(pair, at=service.clock.now())

    body = await sessions_of(http, service, pair)
    assert body["closed"] is True
    assert {s["status"] for s in body["sessions"]} == {"cancelled"}
    assert {s["cancel_reason"] for s in body["sessions"]} == {"pair_ended"}
    extra = await http.post(
        f"/pairs/{pair.pair_id}/sessions",
        json={"participant_id": str(pair.junior_id), "starts_at": "2027-01-12T10:00:00+01:00", "duration_minutes": 45},
        headers=await service.as_(pair.junior_id),
    )
    assert extra.status_code == 409


async def test_an_extra_session_must_suit_both_and_clear_their_other_sessions(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    first = (await sessions_of(http, service, pair))["sessions"][0]
    junior = await service.as_(pair.junior_id)
    url = f"/pairs/{pair.pair_id}/sessions"
    starts = datetime.fromisoformat(first["starts_at"])

    over_the_first = await http.post(
        url,
        json={
            "participant_id": str(pair.junior_id),
            "starts_at": (starts + timedelta(minutes=15)).isoformat(),
            "duration_minutes": 30,
        },
        headers=junior,
    )
    next_week = starts + timedelta(days=7)
    added = await http.post(
        url,
        json={"participant_id": str(pair.junior_id), "starts_at": next_week.isoformat(), "duration_minutes": 30},
        headers=junior,
    )

    assert over_the_first.status_code == 409
    assert added.status_code == 201 and added.json()["extra"] is True


async def test_an_availability_change_replans_what_no_longer_fits(service: Sessions, http: httpx.AsyncClient) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    before = (await sessions_of(http, service, pair))["sessions"]

    afternoons = [{"weekday": day, "start": time(14), "end": time(17)} for day in range(5)]
    await service.enrollment.update(pair.program_id, pair.junior_id, "junior", availability=afternoons)
    await service.enrollment.update(
        pair.program_id,
        pair.senior_id,
        "senior",
        availability=[{"weekday": d, "start": time(13), "end": time(16)} for d in range(5)],
    )

    after = (await sessions_of(http, service, pair))["sessions"]
    live = [s for s in after if s["status"] == "scheduled"]
    assert {s["cancel_reason"] for s in after if s["status"] == "cancelled"} == {"replanned"}
    assert len([s for s in after if s["status"] == "cancelled"]) == len(before)
    assert len(live) == len(before)
    for session in live:
        assert time(14) <= datetime.fromisoformat(session["starts_at"]).astimezone(PARIS).time() < time(17)


async def test_reminders_fall_due_a_day_ahead_and_a_pair_without_held_sessions_is_at_risk(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    pair = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    first = (await sessions_of(http, service, pair))["sessions"][0]
    starts = datetime.fromisoformat(first["starts_at"])

    async def reminded() -> bool:
        flag: bool = await service.pool.fetchval(
            "SELECT reminded FROM sessions WHERE session_id = $1", first["session_id"]
        )
        return flag

    await scheduler.tick(service.store, now=starts - timedelta(hours=30))
    too_early = await reminded()
    await scheduler.tick(service.store, now=starts - timedelta(hours=20))
    reminders = await service.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'sessions.SessionReminderDue' AND payload->>'session_id' = $1",
        first["session_id"],
    )
    await scheduler.tick(service.store, now=service.clock.now() + timedelta(days=29))

    assert too_early is False and await reminded() is True
    assert reminders == 1
    assert (await sessions_of(http, service, pair))["at_risk"] == ["no_held_session"]


async def test_a_withdrawal_cancels_the_pairs_sessions_and_a_broken_rule_flags_the_pair(
    service: Sessions, http: httpx.AsyncClient
) -> None:
    leaving = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)
    flagged = await service.pair(PARIS_MORNINGS, LONDON_MORNINGS)

    await service.enrollment.withdraw(leaving.program_id, leaving.senior_id, "senior")
    await service.pairing.deliver(
        pairing_events.PairBecameInfeasible(
            pair_id=flagged.pair_id,
            program_id=flagged.program_id,
            junior_id=flagged.junior_id,
            senior_id=flagged.senior_id,
            violations=("no_shared_language",),
            detected_at=service.clock.now(),
        )
    )

    left = await sessions_of(http, service, leaving)
    assert left["closed"] is True
    assert {(s["status"], s["cancel_reason"]) for s in left["sessions"]} == {("cancelled", "pair_ended")}
    still = await sessions_of(http, service, flagged)
    assert still["needs_attention"] == "pair_infeasible"
    assert {s["status"] for s in still["sessions"]} == {"scheduled"}
