"""Bulk imports through the HTTP API and the command line: bad rows never block the good ones, and
importing the same file twice enrolls nobody twice."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from enrollment.integration.conftest import RunningService, eventually_ok, open_program
from tandem_enrollment.entrypoints.cli import import_file
from tandem_enrollment.entrypoints.demo import as_csv, sample_people
from tandem_kernel.testing import TokenBook

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]


def file_with_bad_rows() -> str:
    """Twelve people and two more rows (the header is row 1): five rows unusable, one repeated."""
    people = sample_people(12, seed=11, first_employee=5001)
    people[2]["email"] = "nobody-at-example"  # row 4: an invalid field
    people[4]["consent"] = False  # row 7: refused by the program (no consent)
    people[6]["job_level"] = 8  # row 9: a junior above the program's job level
    people[8]["skills_offered"] = [{"skill": "juggling", "level": 3}]  # row 11: an unknown skill
    lines = as_csv(people).splitlines()
    lines.insert(5, "E09999,junior,yes")  # row 6: too few cells (the people after it move down a row)
    lines.append(lines[1])  # row 15: the first person again
    return "\r\n".join(lines) + "\r\n"


async def run_import(http: httpx.AsyncClient, program_id: str, **request: Any) -> dict[str, Any]:
    started = await http.post(f"/programs/{program_id}/imports", **request)
    assert started.status_code == 202, started.text
    assert started.json()["status"] in ("queued", "running", "completed")
    return await eventually_ok(http, started.headers["location"], lambda job: job["status"] == "completed")


async def test_an_import_enrolls_the_valid_rows_and_reports_the_others_by_row(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    upload = {"file": ("hr-export.csv", file_with_bad_rows().encode(), "text/csv")}

    job = await run_import(http, program_id, files=upload)

    assert (job["total"], job["processed"], job["enrolled"], job["duplicates"], job["rejected"]) == (14, 14, 8, 1, 5)
    assert job["file_name"] == "hr-export.csv" and job["file_format"] == "csv" and job["requested_by"] == "hr-admin"
    report = {row["row"]: (row["outcome"], [error["field"] for error in row["errors"]]) for row in job["report"]}
    assert report == {
        4: ("rejected", ["email"]),
        6: ("rejected", [None]),
        7: ("rejected", ["consent"]),
        9: ("rejected", ["job_level"]),
        11: ("rejected", ["skills_offered"]),
        15: ("duplicate", ["employee_id"]),
    }
    counts = await eventually_ok(http, f"/programs/{program_id}", lambda body: body["participants"]["applied"] == 8)
    assert counts["participants"]["applied"] == 8


async def test_importing_the_same_file_again_enrolls_nobody_twice(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http, auto_approve=True)
    content = file_with_bad_rows().encode()

    first = await run_import(http, program_id, content=content, headers={"Content-Type": "text/csv"})
    again = await run_import(http, program_id, content=content, headers={"Content-Type": "text/csv; charset=utf-8"})

    assert (first["enrolled"], first["duplicates"], first["rejected"]) == (8, 1, 5)
    assert (again["enrolled"], again["duplicates"], again["rejected"]) == (0, 9, 5)
    await eventually_ok(http, f"/programs/{program_id}", lambda body: body["participants"]["approved"] == 8)


async def test_json_lines_import_as_a_raw_body(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    lines = [json.dumps(body) for body in sample_people(5, seed=3, first_employee=7001)]
    lines.insert(2, "{not json")
    lines.insert(4, "[1, 2]")

    job = await run_import(
        http, program_id, content="\n".join(lines).encode(), headers={"Content-Type": "application/x-ndjson"}
    )

    assert (job["total"], job["enrolled"], job["rejected"]) == (7, 5, 2)
    assert [row["row"] for row in job["report"]] == [3, 5]
    assert job["report"][0]["errors"][0]["message"].startswith("not valid JSON")


async def test_files_that_cannot_be_imported_are_refused_at_once(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    draft = (await http.post("/programs", json={**_program(), "name": "Draft"})).json()["program_id"]
    url = f"/programs/{program_id}/imports"
    csv = {"Content-Type": "text/csv"}

    bad_header = await http.post(url, content=b"employee_id,shoe_size\nE1,42\n", headers=csv)
    not_utf8 = await http.post(url, content="employee_id\nÉric\n".encode("latin-1"), headers=csv)
    no_format = await http.post(url, content=b"whatever", headers={"Content-Type": "application/octet-stream"})
    not_open = await http.post(f"/programs/{draft}/imports", content=as_csv(sample_people(1)).encode(), headers=csv)
    no_program = await http.post("/programs/00000000-0000-4000-8000-000000000000/imports", content=b"x", headers=csv)
    no_job = await http.get("/imports/00000000-0000-4000-8000-000000000000")

    assert bad_header.status_code == 422 and bad_header.json()["errors"][0]["field"] == "header"
    assert "shoe_size" in bad_header.json()["detail"]
    assert not_utf8.status_code == 422 and not_utf8.json()["errors"][0]["field"] == "file"
    assert no_format.status_code == 415
    assert not_open.status_code == 409
    assert no_program.status_code == no_job.status_code == 404


def _program() -> dict[str, Any]:
    from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM

    return DEMO_PROGRAM


async def test_the_command_line_import_shows_progress_and_the_report(
    http: httpx.AsyncClient, service: RunningService, tmp_path: Path, tokens: TokenBook
) -> None:
    """As an HR system runs it: with its own token, which may write enrollments and nothing else."""
    program_id = await open_program(http)
    path = tmp_path / "people.csv"
    path.write_text(file_with_bad_rows())
    out = io.StringIO()

    status = await import_file(service.url, program_id, path, token=await tokens.service_token("hr-system"), out=out)

    printed = out.getvalue()
    assert status == 3  # completed, some rows rejected
    assert "100% 14/14 rows" in printed
    assert "completed: 8 enrolled, 1 already enrolled, 5 rejected, of 14 rows" in printed
    assert "row      4  rejected   email:" in printed


async def test_an_import_says_when_every_row_it_enrolled_is_listed(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    people = sample_people(1500, seed=5, first_employee=20_000)
    started = await http.post(
        f"/programs/{program_id}/imports", content=as_csv(people).encode(), headers={"Content-Type": "text/csv"}
    )
    job = await eventually_ok(http, started.headers["location"], lambda body: body["readable"])

    listed = []
    cursor = None
    while True:
        page = (
            await http.get(
                f"/programs/{program_id}/participants", params={"limit": 500, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        listed += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert job["status"] == "completed" and job["enrolled"] == len(listed) == 1500
