"""Across services, through their real HTTP APIs, the real broker and the real OpenID provider: a
junior and a senior enroll, pairing pairs them and both accept; sessions hears PairActivated over
Kafka and plans their meetings, which each of them reads over HTTP and in their calendar feed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from e2e.test_enroll_pair_activate import a_matching_pair, settings
from tandem_enrollment.entrypoints.app import service as enrollment
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM
from tandem_kernel.api import create_app
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving
from tandem_pairing.entrypoints.app import service as pairing
from tandem_sessions.entrypoints.app import service as sessions

pytestmark = pytest.mark.broker

PARIS = ZoneInfo("Europe/Paris")


async def test_a_pair_activated_in_pairing_gets_sessions_readable_over_http_and_in_the_feed(
    database_url: str, own_broker: DevBroker, identity: DevIdentity, tokens: TokenBook
) -> None:
    people = a_matching_pair()  # both in Paris, Tuesdays 09:00-12:00
    signed_in = {
        person["role"]: await tokens.headers(
            tokens.person(f"e2e-sessions-{person['role']}", roles=["participant"], employee_id=person["employee_id"])
        )
        for person in people
    }
    hr_headers = await tokens.headers("hr-admin")
    async with fresh_database() as pairing_database, fresh_database() as sessions_database:
        apps = [
            create_app(enrollment, settings("enrollment", database_url, own_broker, identity)),
            create_app(pairing, settings("pairing", pairing_database, own_broker, identity)),
            create_app(sessions, settings("sessions", sessions_database, own_broker, identity)),
        ]
        async with (
            serving(apps[0]) as enrollment_url,
            serving(apps[1]) as pairing_url,
            serving(apps[2]) as sessions_url,
            httpx.AsyncClient(base_url=enrollment_url, headers=hr_headers, timeout=30) as hr,
            httpx.AsyncClient(base_url=pairing_url, headers=hr_headers, timeout=30) as matching,
            httpx.AsyncClient(base_url=sessions_url, timeout=30) as meetings,
        ):
            for client in (hr, matching, meetings):
                await eventually(lambda client=client: _ready(client), timeout=60)
            program = {**DEMO_PROGRAM, "end_date": date(2099, 12, 31).isoformat(), "rotation_months": 3}
            program_id = (await hr.post("/programs", json=program)).json()["program_id"]
            assert (await hr.post(f"/programs/{program_id}/open")).status_code == 200
            participants = {}
            for person in people:
                enrolled = await hr.post(
                    f"/programs/{program_id}/enrollments", json=person, headers=signed_in[person["role"]]
                )
                assert enrolled.status_code == 201, enrolled.text
                participants[person["role"]] = enrolled.json()["participant_id"]

            async def pooled() -> bool:
                pool = await matching.get(f"/programs/{program_id}/pool")
                counts = pool.json() if pool.status_code == 200 else {}
                return bool(counts) and counts["juniors"].get("approved", 0) + counts["seniors"].get("approved", 0) >= 2

            await eventually(pooled, timeout=30)
            requested = await matching.post(f"/programs/{program_id}/rounds", json={"kind": "full"})
            round_url = requested.headers["location"]

            async def proposed() -> bool:
                return bool((await matching.get(round_url)).json().get("proposals"))

            await eventually(proposed, timeout=30)
            [proposal] = (await matching.get(round_url)).json()["proposals"]
            for side in ("junior", "senior"):
                answered = await matching.post(
                    f"/proposals/{proposal['pair_id']}/accept",
                    json={"participant_id": participants[side]},
                    headers=signed_in[side],
                )
                assert answered.status_code == 200, answered.text

            pair_url = f"/pairs/{proposal['pair_id']}/sessions"

            async def planned() -> bool:
                found = await meetings.get(pair_url, headers=signed_in["junior"])
                return found.status_code == 200 and bool(found.json()["sessions"])

            await eventually(planned, timeout=60)
            planned_sessions = (await meetings.get(pair_url, headers=signed_in["senior"])).json()["sessions"]
            issued = await meetings.post(
                f"/participants/{participants['junior']}/calendar-feed", headers=signed_in["junior"]
            )
            feed = await meetings.get(issued.json()["url"])

    assert len(planned_sessions) >= 6  # three months of a 14-day cadence
    for session in planned_sessions:
        starts = datetime.fromisoformat(session["starts_at"]).astimezone(PARIS)
        assert starts.weekday() == 1 and 9 <= starts.hour < 12  # Tuesday mornings in Paris
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")}
    assert {f"{s['session_id']}@sessions.tandem" for s in planned_sessions} == events.keys()
    for session in planned_sessions:
        event = events[f"{session['session_id']}@sessions.tandem"]
        assert event["DTSTART"].dt == datetime.fromisoformat(session["starts_at"])
        assert str(event["DTSTART"].params["TZID"]) == "Europe/Paris"


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200
