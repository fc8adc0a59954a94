"""Enrollments through the HTTP API: enroll, approve, waitlist, withdraw, profile, listing, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from enrollment.integration.conftest import RunningService, eventually_ok, open_program, person
from tandem_enrollment.application import places

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

UNKNOWN = "00000000-0000-4000-8000-00000000abcd"


async def enroll(http: httpx.AsyncClient, program_id: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await http.post(f"/programs/{program_id}/enrollments", json=body, headers=headers)


async def test_an_enrollment_answers_with_its_status_and_the_read_model_follows(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)

    response = await enroll(http, program_id, person(0, country="fr", languages=["FR", "en"]))

    assert response.status_code == 201, response.text
    enrolled = response.json()
    assert enrolled["status"] == "applied" and enrolled["version"] == 1 and enrolled["employee_id"] == "E01001"
    url = f"/programs/{program_id}/enrollments/{enrolled['participant_id']}"
    assert response.headers["location"] == url
    found = await eventually_ok(http, url)
    assert found["display_name"] == person(0)["display_name"] and found["email"] == person(0)["email"]
    assert found["country"] == "FR" and found["languages"] == ["fr", "en"]
    assert found["skills_offered"] == person(0)["skills_offered"]
    assert found["availability"][0]["start"] == person(0)["availability"][0]["start"] + ":00"


async def test_the_same_employee_cannot_enroll_twice(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    assert (await enroll(http, program_id, person(1))).status_code == 201

    again = await enroll(http, program_id, person(1, display_name="Someone Else"))

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "invalid-transition" and "already enrolled" in again.json()["detail"]


async def test_enrolling_in_a_program_that_is_not_open_is_a_conflict(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    await http.post(f"/programs/{program_id}/start")
    draft = (await http.post("/programs", json={"name": "Draft", **_terms(http)})).json()["program_id"]

    for target in (program_id, draft):
        refused = await enroll(http, target, person(2))
        assert refused.status_code == 409
        assert "not open for enrollment" in refused.json()["detail"]


def _terms(http: httpx.AsyncClient) -> dict[str, Any]:
    from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM

    return {key: value for key, value in DEMO_PROGRAM.items() if key != "name"}


async def test_invalid_enrollments_are_422_naming_the_field(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    cases = {
        "email": person(0, email="not-an-address"),
        "consent": person(0, consent=False),
        "job_level": person(0, job_level=7),  # juniors may have job level 4 at most
        "years_in_company": person(0, years_in_company=12),
        "skills_offered": person(0, skills_offered=[{"skill": "juggling", "level": 3}]),
        "skills_offered.0.level": person(0, skills_offered=[{"skill": "excel", "level": 9}]),
        "languages": person(0, languages=["de"]),
        "objectives": person(0, objectives=["astrology"]),
        "availability.0.end": person(0, availability=[{"weekday": "mon", "start": "10:00", "end": "09:00"}]),
        "time_zone": person(0, time_zone="Mars/Olympus"),
        "program_id": {**person(0), "program_id": program_id},
    }
    for field, body in cases.items():
        response = await enroll(http, program_id, body)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [error["field"] for error in response.json()["errors"]], (field, response.json())


async def test_unknown_programs_and_enrollments_are_404(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    other = await open_program(http)
    elsewhere = (await enroll(http, other, person(3))).json()["participant_id"]

    responses = [
        await enroll(http, UNKNOWN, person(3)),
        await http.get(f"/programs/{program_id}/enrollments/{UNKNOWN}"),
        await http.post(f"/programs/{program_id}/enrollments/{UNKNOWN}/approve"),
        await http.post(f"/programs/{program_id}/enrollments/{UNKNOWN}/withdraw"),
        await http.patch(f"/programs/{program_id}/enrollments/{UNKNOWN}", json={"site": "Paris"}),
        # someone enrolled in another program is unknown in this one
        await http.post(f"/programs/{program_id}/enrollments/{elsewhere}/approve"),
    ]

    assert [response.status_code for response in responses] == [404] * len(responses)


async def test_a_retried_enrollment_with_its_idempotency_key_enrolls_once(
    http: httpx.AsyncClient, service: RunningService
) -> None:
    program_id = await open_program(http, auto_approve=True)

    first = await enroll(http, program_id, person(4), **{"Idempotency-Key": "enroll-4"})
    retry = await enroll(http, program_id, person(4), **{"Idempotency-Key": "enroll-4"})
    misuse = await enroll(http, program_id, person(5), **{"Idempotency-Key": "enroll-4"})

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json() and first.json()["status"] == "approved"
    assert misuse.status_code == 422 and misuse.json()["errors"][0]["field"] == "Idempotency-Key"
    stream = f"participant-{first.json()['participant_id']}"
    connection = await asyncpg.connect(service.database_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM enrollment.events WHERE stream_id = $1", stream) == 2
    finally:
        await connection.close()


async def test_participants_are_filtered_and_paged(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    people = [person(n, department="Finance" if n % 3 == 0 else "Legal") for n in range(12)]
    for body in people:
        assert (await enroll(http, program_id, body)).status_code == 201
    url = f"/programs/{program_id}/participants"
    await eventually_ok(http, f"/programs/{program_id}", lambda body: body["participants"]["applied"] == 12)

    pages, cursor = [], None
    while True:
        page = (await http.get(url, params={"limit": 5, **({"cursor": cursor} if cursor else {})})).json()
        pages.append([item["employee_id"] for item in page["items"]])
        if (cursor := page["next_cursor"]) is None:
            break
    juniors = (await http.get(url, params={"role": "junior"})).json()["items"]
    finance = (await http.get(url, params={"department": "finance", "role": "senior"})).json()["items"]
    at_site = (await http.get(url, params={"site": people[0]["site"].upper()})).json()["items"]

    assert [len(page) for page in pages] == [5, 5, 2]
    assert [employee for page in pages for employee in page] == [body["employee_id"] for body in people]
    assert len(juniors) == 6 and {item["role"] for item in juniors} == {"junior"}
    assert {item["employee_id"] for item in finance} == {"E01004", "E01010"}
    assert {item["employee_id"] for item in at_site} == {
        b["employee_id"] for b in people if b["site"] == people[0]["site"]
    }
    assert (await http.get(url, params={"status": "approved"})).json() == {"items": [], "next_cursor": None}
    assert (await http.get(url, params={"role": "manager"})).status_code == 422
    assert (await http.get(url, params={"limit": 0})).status_code == 422


async def test_approvals_fill_the_places_then_the_waitlist_moves_up_when_someone_withdraws(
    http: httpx.AsyncClient,
) -> None:
    program_id = await open_program(http, capacity=2)
    ids = [(await enroll(http, program_id, person(n))).json()["participant_id"] for n in range(3)]
    base = f"/programs/{program_id}/enrollments"

    approved = [(await http.post(f"{base}/{pid}/approve")).json()["status"] for pid in ids]
    stays = await http.post(f"{base}/{ids[2]}/approve")
    withdrew = await http.post(f"{base}/{ids[0]}/withdraw", json={"reason": "workload"})
    again = await http.post(f"{base}/{ids[0]}/withdraw")

    assert approved == ["approved", "approved", "waitlisted"]
    assert stays.status_code == 409 and "waitlist" in stays.json()["detail"]
    assert withdrew.json()["status"] == "withdrawn"
    assert again.status_code == 409
    promoted = await eventually_ok(http, f"{base}/{ids[2]}", lambda body: body["status"] == "approved")
    assert promoted["version"] == 4  # enrolled, waitlisted, vetted (HR approved while full), approved
    counts = (await eventually_ok(http, f"/programs/{program_id}"))["participants"]
    assert (counts["approved"], counts["waitlisted"], counts["withdrawn"]) == (2, 0, 1)
    withdrawn = (await http.get(f"{base}/{ids[0]}")).json()
    assert withdrawn["withdrawal_reason"] == "workload"


async def test_concurrent_enrollments_never_exceed_the_capacity(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http, capacity=5, auto_approve=True)

    answers = await asyncio.gather(*(enroll(http, program_id, person(n)) for n in range(20)))

    statuses = sorted(answer.json()["status"] for answer in answers)
    assert statuses == ["approved"] * 5 + ["waitlisted"] * 15


@pytest.mark.parametrize("headroom", [0, 10], ids=["stale-counts-everywhere", "far-then-near-full"])
async def test_enrollments_that_do_not_wait_for_the_count_still_never_exceed_the_capacity(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, headroom: int
) -> None:
    # Far from full, an enrollment reads the count without waiting its turn and checks it as it
    # commits. With no headroom at all, most of them decide on a count others have moved: each of
    # those must notice and decide again in turn.
    monkeypatch.setattr(places, "HEADROOM", headroom)
    program_id = await open_program(http, capacity=25, auto_approve=True)

    answers = await asyncio.gather(*(enroll(http, program_id, person(n)) for n in range(40)))

    assert sorted(answer.json()["status"] for answer in answers) == ["approved"] * 25 + ["waitlisted"] * 15
    counts = await eventually_ok(http, f"/programs/{program_id}", lambda body: body["participants"]["waitlisted"] == 15)
    assert counts["participants"]["approved"] == 25


async def test_a_profile_changes_only_in_the_fields_sent(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    participant_id = (await enroll(http, program_id, person(6))).json()["participant_id"]
    url = f"/programs/{program_id}/enrollments/{participant_id}"

    changed = await http.patch(url, json={"site": "Lyon", "personal_goals": None, "objectives": ["career"]})
    same = await http.patch(url, json={"site": "Lyon"})
    cleared_name = await http.patch(url, json={"display_name": None})
    off_catalogue = await http.patch(url, json={"objectives": ["astrology"]})

    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert same.json()["version"] == 2
    assert cleared_name.status_code == 422 and cleared_name.json()["errors"][0]["field"] == "display_name"
    assert off_catalogue.status_code == 422 and off_catalogue.json()["errors"][0]["field"] == "objectives"
    found = await eventually_ok(http, url, lambda body: body["version"] == 2)
    assert (found["site"], found["personal_goals"], found["objectives"]) == ("Lyon", None, ["career"])
    assert found["display_name"] == person(6)["display_name"]
    await http.post(f"{url}/withdraw")
    assert (await http.patch(url, json={"site": "Paris"})).status_code == 409


async def test_an_enrollment_is_readable_at_its_location_right_after_the_201(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    for n in range(10):
        enrolled = await http.post(f"/programs/{program_id}/enrollments", json=person(n))
        found = await http.get(enrolled.headers["location"])
        assert found.status_code == 200 and found.json()["status"] == enrolled.json()["status"]


async def test_in_a_program_that_needs_approval_a_full_program_waitlists_but_never_approves_by_itself(
    http: httpx.AsyncClient,
) -> None:
    program_id = await open_program(http, capacity=1)
    base = f"/programs/{program_id}/enrollments"
    first = (await enroll(http, program_id, person(0))).json()
    assert (await http.post(f"{base}/{first['participant_id']}/approve")).json()["status"] == "approved"
    unvetted, vetted = [(await enroll(http, program_id, person(n))).json() for n in (1, 2)]

    approved_while_full = await http.post(f"{base}/{vetted['participant_id']}/approve")
    await http.post(f"{base}/{first['participant_id']}/withdraw")

    # Waiting for a place and being approved are separate facts: only the vetted one gets the place.
    assert (unvetted["status"], unvetted["vetted"]) == ("waitlisted", False)
    assert approved_while_full.status_code == 200, approved_while_full.text
    assert (approved_while_full.json()["status"], approved_while_full.json()["vetted"]) == ("waitlisted", True)
    await eventually_ok(http, f"{base}/{vetted['participant_id']}", lambda body: body["status"] == "approved")
    still = (await http.get(f"{base}/{unvetted['participant_id']}")).json()
    assert (still["status"], still["vetted"]) == ("waitlisted", False)
    # HR may still approve them; the program is full again, so they wait, vetted now.
    later = await http.post(f"{base}/{unvetted['participant_id']}/approve")
    assert (later.json()["status"], later.json()["vetted"]) == ("waitlisted", True)
