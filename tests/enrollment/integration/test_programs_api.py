"""Programs through the HTTP API: lifecycle, terms, listing, errors and idempotency."""

from __future__ import annotations

import httpx
import pytest
from enrollment.integration.conftest import eventually_ok, open_program
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

UNKNOWN = "00000000-0000-4000-8000-00000000abcd"


async def test_a_program_goes_from_draft_to_open_to_running_to_closed(http: httpx.AsyncClient) -> None:
    created = await http.post("/programs", json=DEMO_PROGRAM)
    assert created.status_code == 201
    program_id = created.json()["program_id"]
    assert created.json() == {"program_id": program_id, "status": "draft", "version": 1}
    assert created.headers["location"] == f"/programs/{program_id}"

    steps = [(await http.post(f"/programs/{program_id}/{action}")).json() for action in ("open", "start", "close")]

    assert [(step["status"], step["version"]) for step in steps] == [("open", 2), ("running", 3), ("closed", 4)]
    program = await eventually_ok(http, f"/programs/{program_id}", lambda body: body["status"] == "closed")
    assert program["name"] == DEMO_PROGRAM["name"]
    assert program["capacity"] == 36 and program["version"] == 4
    assert program["participants"] == dict.fromkeys(
        ["applied", "approved", "waitlisted", "withdrawn", "juniors", "seniors"], 0
    )


async def test_objectives_and_eligibility_change_while_open_but_not_once_running(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    objectives = {"objectives": [{"code": "ai", "title": "AI at work", "theme": "ai"}]}
    eligibility = {"eligibility": {"junior": {"max_years_in_company": 3}, "senior": {"min_job_level": 6}}}

    assert (await http.put(f"/programs/{program_id}/objectives", json=objectives)).json()["version"] == 3
    assert (await http.put(f"/programs/{program_id}/eligibility", json=eligibility)).json()["version"] == 4
    unchanged = await http.put(f"/programs/{program_id}/eligibility", json=eligibility)
    assert unchanged.status_code == 200 and unchanged.json()["version"] == 4

    program = await eventually_ok(http, f"/programs/{program_id}", lambda body: body["version"] == 4)
    assert [objective["code"] for objective in program["objectives"]] == ["ai"]
    assert program["eligibility"]["senior"] == {"min_job_level": 6}

    await http.post(f"/programs/{program_id}/start")
    refused = await http.put(f"/programs/{program_id}/objectives", json=objectives)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "invalid-transition"


async def test_transitions_out_of_order_are_conflicts(http: httpx.AsyncClient) -> None:
    draft = (await http.post("/programs", json=DEMO_PROGRAM)).json()["program_id"]

    for action in ("start", "close"):
        response = await http.post(f"/programs/{draft}/{action}")
        assert response.status_code == 409, action
        assert "draft" in response.json()["detail"]
    assert (await http.post(f"/programs/{draft}/open")).status_code == 200
    assert (await http.post(f"/programs/{draft}/open")).status_code == 409


async def test_opening_needs_an_objective(http: httpx.AsyncClient) -> None:
    draft = (await http.post("/programs", json={**DEMO_PROGRAM, "objectives": []})).json()["program_id"]

    refused = await http.post(f"/programs/{draft}/open")

    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "objectives", "message": refused.json()["detail"]}]


async def test_invalid_terms_are_422_naming_the_field(http: httpx.AsyncClient) -> None:
    cases = {
        "end_date": {**DEMO_PROGRAM, "end_date": "2026-01-01"},
        "session_minutes": {**DEMO_PROGRAM, "session_minutes": 90},
        "name": {key: value for key, value in DEMO_PROGRAM.items() if key != "name"},
        "objectives.0.code": {**DEMO_PROGRAM, "objectives": [{"code": "no spaces!", "title": "x", "theme": "ai"}]},
    }
    for field, body in cases.items():
        response = await http.post("/programs", json=body)
        assert response.status_code == 422, field
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [error["field"] for error in response.json()["errors"]], response.json()

    not_json = await http.post("/programs", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 422


async def test_unknown_programs_are_404_and_malformed_ids_422(http: httpx.AsyncClient) -> None:
    for method, url in [
        ("GET", f"/programs/{UNKNOWN}"),
        ("POST", f"/programs/{UNKNOWN}/open"),
        ("PUT", f"/programs/{UNKNOWN}/eligibility"),
        ("GET", f"/programs/{UNKNOWN}/participants"),
    ]:
        body = {"eligibility": {}} if method == "PUT" else None
        response = await http.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["code"] == "not-found"
    assert (await http.get("/programs/not-a-uuid")).status_code == 422


async def test_a_retried_creation_with_the_same_idempotency_key_creates_one_program(http: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-program-once"}

    first = await http.post("/programs", json=DEMO_PROGRAM, headers=headers)
    retry = await http.post("/programs", json=DEMO_PROGRAM, headers=headers)
    # A key means "this operation, once": the same key on another operation is another request.
    opened = await http.post(f"/programs/{first.json()['program_id']}/open", headers=headers)

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert opened.status_code == 200 and opened.json()["status"] == "open"


async def test_programs_are_listed_by_status_in_pages(http: httpx.AsyncClient) -> None:
    ours = {await open_program(http, name=f"Listed {n}") for n in range(5)}
    await eventually_ok(http, "/programs?status=open&limit=500", lambda body: ours <= _ids(body))

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"status": "open", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/programs", params=params)).json()
        assert len(page["items"]) <= 2
        assert all(item["status"] == "open" for item in page["items"])
        seen += [item["program_id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert ours <= set(seen) and len(seen) == len(set(seen))
    assert (await http.get("/programs", params={"cursor": "garbage"})).json()["errors"][0]["field"] == "cursor"


def _ids(page: dict[str, object]) -> set[str]:
    return {item["program_id"] for item in page["items"]}  # type: ignore[attr-defined]


async def test_what_a_client_just_created_is_readable_at_its_location_at_once(http: httpx.AsyncClient) -> None:
    """No polling: the GET that follows a 201 waits (bounded) for the read model to catch up."""
    for _ in range(10):
        created = await http.post("/programs", json=DEMO_PROGRAM)
        found = await http.get(created.headers["location"])
        assert found.status_code == 200 and found.json()["version"] == 1
        opened = await http.post(f"{created.headers['location']}/open")
        assert (await http.get(created.headers["location"])).json()["status"] == opened.json()["status"] == "open"


async def test_a_client_can_discover_every_value_an_enrollment_is_checked_against(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)

    skills = (await http.get("/vocabulary/skills")).json()
    zones = (await http.get("/vocabulary/time-zones")).json()
    countries = (await http.get("/vocabulary/countries")).json()
    program = await eventually_ok(http, f"/programs/{program_id}")
    schema = (await http.get("/openapi.json")).json()["components"]["schemas"]["EnrollmentCreate"]["properties"]

    assert {"code": "prompt_engineering", "title": "Writing effective prompts", "area": "ai"} in skills
    assert "Australia/Sydney" in zones and "Mars/Olympus" not in zones
    assert {"code": "FR", "name": "France"} in countries and "ZZ" not in {c["code"] for c in countries}
    assert program["languages"] == DEMO_PROGRAM["languages"]
    assert [o["code"] for o in program["objectives"]] == [o["code"] for o in DEMO_PROGRAM["objectives"]]
    # Closed lists are enums in the schema too.
    assert schema["skills_offered"]["items"]["properties"]["skill"]["enum"] == sorted(s["code"] for s in skills)
    assert schema["time_zone"]["enum"] == zones
    assert schema["country"]["enum"] == [c["code"] for c in countries]
