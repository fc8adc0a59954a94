"""What a careless or hostile client sends: values of the wrong JSON type, codes that do not exist,
ids that differ only by case. Nothing is coerced silently; one person is one person."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from enrollment.integration.conftest import open_program, person

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]


def fields_at_fault(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


async def test_employee_ids_differing_only_by_case_are_one_person(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)

    first = await http.post(f"/programs/{program_id}/enrollments", json=person(0, employee_id="p-j2w"))
    again = await http.post(f"/programs/{program_id}/enrollments", json=person(0, employee_id="P-J2W"))

    assert first.status_code == 201 and first.json()["employee_id"] == "P-J2W"
    assert again.status_code == 409 and "already enrolled" in again.json()["detail"]


async def test_an_imported_file_knows_people_whatever_the_case_of_their_ids(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    await http.post(f"/programs/{program_id}/enrollments", json=person(0, employee_id="ab-12"))
    line = httpx.Response(200, json=person(0, employee_id="AB-12")).text

    started = await http.post(
        f"/programs/{program_id}/imports", content=line, headers={"Content-Type": "application/x-ndjson"}
    )

    job_url = started.headers["location"]
    job: dict[str, Any] = {}
    while (job := (await http.get(job_url)).json())["status"] in ("queued", "running"):
        pass
    assert (job["enrolled"], job["duplicates"]) == (0, 1)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"job_level": "3"}, "job_level"),
        ({"job_level": True}, "job_level"),
        ({"years_in_company": "2.5"}, "years_in_company"),
        ({"consent": "yes"}, "consent"),
        ({"consent": 1}, "consent"),
        ({"skills_offered": [{"skill": "excel", "level": "4"}]}, "skills_offered.0.level"),
        ({"availability": [{"weekday": "2", "start": "09:00", "end": "10:00"}]}, "availability.0.weekday"),
        ({"availability": [{"weekday": 1, "start": 900, "end": "10:00"}]}, "availability.0.start"),
        ({"country": "ZZ"}, "country"),
        ({"employee_id": "E7", "manager_employee_id": "e7"}, "manager_employee_id"),
    ],
)
async def test_enrollment_values_are_taken_as_sent_or_refused(
    http: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    program_id = await open_program(http)

    response = await http.post(f"/programs/{program_id}/enrollments", json=person(0, **change))

    assert field in fields_at_fault(response)


async def test_a_profile_change_is_as_strict_as_an_enrollment(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    enrolled = (await http.post(f"/programs/{program_id}/enrollments", json=person(0, employee_id="E8"))).json()
    url = f"/programs/{program_id}/enrollments/{enrolled['participant_id']}"

    assert fields_at_fault(await http.patch(url, json={"job_level": "2"})) == ["job_level"]
    assert fields_at_fault(await http.patch(url, json={"country": "ZZ"})) == ["country"]
    assert fields_at_fault(await http.patch(url, json={"manager_employee_id": "e8"})) == ["manager_employee_id"]
    assert (await http.patch(url, json={"manager_employee_id": "e9", "country": "de"})).status_code == 200


async def test_program_terms_are_not_coerced(http: httpx.AsyncClient) -> None:
    from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM

    for change, field in [({"capacity": "36"}, "capacity"), ({"auto_approve": "true"}, "auto_approve")]:
        assert field in fields_at_fault(await http.post("/programs", json={**DEMO_PROGRAM, **change}))
