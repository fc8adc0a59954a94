"""Bulk import: CSV and JSON-lines files become commands or row errors, one row at a time."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from itertools import count, islice
from uuid import UUID

import pytest
from tandem_enrollment.domain import AcceptedRow, FieldError, ImportedRow, RejectedRow, parse_csv, parse_jsonl
from tandem_kernel.errors import DomainError

PROGRAM_ID = UUID("00000000-0000-4000-8000-000000000001")

HEADER = (
    "employee_id,display_name,email,role,department,site,country,time_zone,job_level,years_in_company,"
    "manager_employee_id,languages,skills_offered,skills_wanted,objectives,personal_goals,availability,"
    "meeting_preference,consent"
)
GOOD = (
    "E1001,Ada Martin,ada@example.com,junior,Finance,Lyon,FR,Europe/Paris,2,1.5,E0042,en;fr,"
    'python:4;excel:3,negotiation:2,ai;tools,"Coach my manager, gently",mon 09:00-11:00;wed 14:00-15:30,remote,yes'
)
SENIOR = (
    "E2002,Bruno Petit,bruno@example.com,senior,Sales,Paris,FR,Europe/Paris,7,22,,fr,,generative_ai:1,ai,,,either,true"
)


def rows(results: Iterator[ImportedRow]) -> dict[int, ImportedRow]:
    return {result.row: result for result in results}


def fields(result: ImportedRow) -> set[str | None]:
    assert isinstance(result, RejectedRow), result
    return {error.field for error in result.errors}


def csv_file(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join(lines) + "\n", newline="")


# -- CSV ---------------------------------------------------------------------------------------


def test_csv_rows_become_enroll_commands_for_the_given_program() -> None:
    results = rows(parse_csv(csv_file(HEADER, GOOD, SENIOR), program_id=PROGRAM_ID))

    assert set(results) == {2, 3}
    ada = results[2]
    assert isinstance(ada, AcceptedRow)
    command = ada.command
    assert command.program_id == PROGRAM_ID and command.employee_id == "E1001" and command.consent
    assert command.languages == ("en", "fr")
    assert {rating.skill: rating.level for rating in command.skills_offered} == {"python": 4, "excel": 3}
    assert command.objectives == ("ai", "tools")
    assert command.personal_goals == "Coach my manager, gently"
    assert [(window.weekday, f"{window.start:%H:%M}-{window.end:%H:%M}") for window in command.availability] == [
        (0, "09:00-11:00"),
        (2, "14:00-15:30"),
    ]
    bruno = results[3]
    assert isinstance(bruno, AcceptedRow)
    assert bruno.command.manager_employee_id is None and bruno.command.skills_offered == ()


def test_bad_csv_rows_are_reported_with_their_line_and_field_and_never_stop_the_rest() -> None:
    lines = [
        HEADER,
        GOOD,
        GOOD.replace("Europe/Paris", "Europe/Atlantis"),
        GOOD.replace("python:4;excel:3", "python;excel:9"),
        "",
        GOOD.replace("mon 09:00-11:00", "monday morning"),
        "E1005,too,few,cells",
        GOOD.replace("ada@example.com,junior", "ada@example.com,").replace(",2,1.5,", ",,1.5,"),
        SENIOR,
    ]

    results = rows(parse_csv(csv_file(*lines), program_id=PROGRAM_ID))

    assert sorted(results) == [2, 3, 4, 6, 7, 8, 9]
    assert isinstance(results[2], AcceptedRow) and isinstance(results[9], AcceptedRow)
    assert fields(results[3]) == {"time_zone"}
    assert fields(results[4]) == {"skills_offered"}
    assert fields(results[6]) == {"availability"}
    assert fields(results[7]) == {None}
    assert fields(results[8]) == {"role", "job_level"}


def test_a_csv_error_message_says_what_to_write() -> None:
    [result] = parse_csv(csv_file(HEADER, GOOD.replace("python:4", "python")), program_id=PROGRAM_ID)
    assert result == RejectedRow(2, (FieldError("skills_offered", "'python': write skill:level, e.g. python:4"),))


def test_a_multi_line_cell_keeps_the_row_numbers_of_the_file() -> None:
    multi_line = GOOD.replace('"Coach my manager, gently"', '"Coach my manager,\ngently"')
    results = rows(
        parse_csv(csv_file(HEADER, multi_line, SENIOR.replace("Europe/Paris", "Nowhere")), program_id=PROGRAM_ID)
    )
    assert isinstance(results[2], AcceptedRow)
    assert fields(results[4]) == {"time_zone"}


def test_spreadsheet_habits_in_the_header_are_forgiven() -> None:
    header = "\ufeff" + ",".join(f" {name.upper()} " for name in HEADER.split(","))
    [result] = parse_csv(csv_file(header, GOOD), program_id=PROGRAM_ID)
    assert isinstance(result, AcceptedRow)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (HEADER + ",shoe_size", "unknown columns: shoe_size"),
        (HEADER.replace(",consent", ""), "missing columns: consent"),
        (HEADER + ",site", "repeated: site"),
        ("", "missing columns"),
    ],
)
def test_an_unusable_header_refuses_the_whole_file(header: str, problem: str) -> None:
    with pytest.raises(DomainError) as refused:
        next(parse_csv(csv_file(header, GOOD), program_id=PROGRAM_ID))
    assert refused.value.field == "header" and problem in refused.value.detail


def test_a_semicolon_separated_export_reads_with_its_delimiter() -> None:
    # Where ";" separates cells, list cells must be quoted.
    def semicolon(line: str) -> str:
        return ";".join(f'"{cell}"' for cell in line.replace('"Coach my manager, gently"', "goal").split(","))

    [result] = parse_csv(csv_file(semicolon(HEADER), semicolon(GOOD)), program_id=PROGRAM_ID, delimiter=";")
    assert isinstance(result, AcceptedRow) and result.command.languages == ("en", "fr")


# -- JSON lines --------------------------------------------------------------------------------

ADA = {
    "employee_id": "E1001",
    "display_name": "Ada Martin",
    "email": "ada@example.com",
    "role": "junior",
    "department": "Finance",
    "site": "Lyon",
    "country": "FR",
    "time_zone": "Europe/Paris",
    "job_level": 2,
    "years_in_company": 1.5,
    "languages": ["en", "fr"],
    "skills_offered": [{"skill": "python", "level": 4}],
    "objectives": ["ai"],
    "availability": [{"weekday": 0, "start": "09:00", "end": "11:00"}],
    "consent": True,
}


def test_json_lines_mix_good_and_bad_rows_and_each_is_judged_alone() -> None:
    lines = [
        json.dumps(ADA),
        json.dumps({**ADA, "employee_id": "E1002", "skills_offered": [{"skill": "python", "level": 0}]}),
        "{not json",
        "",
        json.dumps(["a", "list"]),
        json.dumps({**ADA, "employee_id": "E1006", "program_id": "00000000-0000-4000-8000-0000000000ff"}),
        json.dumps({**ADA, "employee_id": "E1007", "program_id": str(PROGRAM_ID), "nickname": "Ace"}),
        json.dumps({**ADA, "employee_id": "E1008"}),
    ]

    results = rows(parse_jsonl(lines, program_id=PROGRAM_ID))

    assert sorted(results) == [1, 2, 3, 5, 6, 7, 8]
    assert isinstance(results[1], AcceptedRow) and isinstance(results[8], AcceptedRow)
    assert fields(results[2]) == {"skills_offered.0.level"}
    assert fields(results[3]) == {None} and fields(results[5]) == {None}
    assert fields(results[6]) == {"program_id"}
    assert fields(results[7]) == {"nickname"}


def test_parsing_streams_one_row_at_a_time() -> None:
    def endless() -> Iterator[str]:
        for number in count(1):
            yield json.dumps({**ADA, "employee_id": f"E{number}"})

    first = list(islice(parse_jsonl(endless(), program_id=PROGRAM_ID), 3))
    assert [result.row for result in first] == [1, 2, 3]
