"""Bulk enrollment files, parsed row by row into `EnrollParticipant` commands or row errors.

Two formats carry the same fields as `EnrollParticipant` (the program id comes from the caller):

- CSV with a header row; list cells are `;`-separated::

    employee_id,display_name,...,languages,skills_offered,objectives,availability,consent
    E1001,Ada,...,en;fr,python:4;excel:3,ai;tools,mon 09:00-11:00;wed 14:00-15:30,yes

- JSON lines: one object per line, fields in their natural JSON form (lists, objects, numbers).

Parsing streams: it reads one line at a time and yields one result per row, so a 20,000-row file is
never held whole, and a bad row never stops the rows after it. Row numbers are the file's line
numbers (the CSV header is row 1), as a spreadsheet shows them.

>>> for result in parse_csv(open(path, newline=""), program_id=program_id):
...     match result:
...         case AcceptedRow(row, command): ...
...         case RejectedRow(row, errors): ...
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from tandem_kernel.errors import DomainError

from tandem_enrollment.domain.commands import EnrollParticipant

__all__ = ["AcceptedRow", "FieldError", "ImportedRow", "RejectedRow", "parse_csv", "parse_jsonl"]

_COLUMNS = frozenset(EnrollParticipant.model_fields) - {"program_id"}
_REQUIRED = frozenset(name for name in _COLUMNS if EnrollParticipant.model_fields[name].is_required())


@dataclass(frozen=True, slots=True)
class FieldError:
    """What is wrong in a row: `field` is a dotted path (`skills_offered.1.level`) or `None` for the row."""

    field: str | None
    message: str


@dataclass(frozen=True, slots=True)
class AcceptedRow:
    """A row that became a valid command (the program may still refuse it: consent, eligibility…)."""

    row: int
    command: EnrollParticipant


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A row that could not become a command, with every problem found in it."""

    row: int
    errors: tuple[FieldError, ...]


ImportedRow = AcceptedRow | RejectedRow


class _CellError(ValueError):
    """A CSV cell that does not follow its list syntax."""


def _items(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(";") if item.strip()]


def _skill_ratings(cell: str) -> list[dict[str, str]]:
    ratings = []
    for item in _items(cell):
        skill, colon, level = item.partition(":")
        if not colon:
            raise _CellError(f"{item!r}: write skill:level, e.g. python:4")
        ratings.append({"skill": skill.strip(), "level": level.strip()})
    return ratings


def _availability(cell: str) -> list[dict[str, str]]:
    windows = []
    for item in _items(cell):
        day, _, span = item.partition(" ")
        start, dash, end = span.strip().partition("-")
        if not dash:
            raise _CellError(f"{item!r}: write day hh:mm-hh:mm, e.g. mon 09:00-11:00")
        windows.append({"weekday": day, "start": start.strip(), "end": end.strip()})
    return windows


_LIST_CELLS = {
    "languages": _items,
    "objectives": _items,
    "skills_offered": _skill_ratings,
    "skills_wanted": _skill_ratings,
    "availability": _availability,
}


def _field_errors(error: ValidationError) -> list[FieldError]:
    return [
        FieldError(
            ".".join(str(part) for part in detail["loc"]) or None,
            # pydantic prefixes messages raised by validators; the field name says enough.
            detail["msg"].removeprefix("Value error, "),
        )
        for detail in error.errors(include_url=False)
    ]


def _other_program(given: Any, program_id: UUID) -> bool:
    try:
        return UUID(str(given)) != program_id
    except ValueError:
        return True


def _command(row: int, data: dict[str, Any], program_id: UUID, errors: list[FieldError]) -> ImportedRow:
    """Validate one row's fields; `errors` already found while reading cells are kept."""
    given = data.pop("program_id", None)
    if given is not None and _other_program(given, program_id):
        errors.append(FieldError("program_id", "the row belongs to another program"))
    try:
        command = EnrollParticipant.model_validate({**data, "program_id": program_id})
    except ValidationError as error:
        # A cell that failed to read was left out: do not also report it as missing.
        reported = {found.field for found in errors}
        errors.extend(found for found in _field_errors(error) if found.field not in reported)
        return RejectedRow(row, tuple(errors))
    if errors:
        return RejectedRow(row, tuple(errors))
    return AcceptedRow(row, command)


def _csv_header(cells: list[str]) -> list[str]:
    # Spreadsheets often save a byte-order mark and padded or capitalised titles.
    header = [cell.removeprefix("\ufeff").strip().lower() for cell in cells]
    unknown = sorted(set(header) - _COLUMNS - {"program_id"})
    missing = sorted(_REQUIRED - set(header))
    repeated = sorted({name for name in header if header.count(name) > 1})
    problems = [
        f"{label}: {', '.join(names)}"
        for label, names in (("unknown columns", unknown), ("missing columns", missing), ("repeated", repeated))
        if names
    ]
    if problems:
        raise DomainError(f"the CSV header is not usable ({'; '.join(problems)})", field="header")
    return header


def parse_csv(lines: Iterable[str], *, program_id: UUID, delimiter: str = ",") -> Iterator[ImportedRow]:
    """Parse an enrollment CSV into one result per non-blank row.

    Open files with `newline=""` so that quoted cells may span lines. Raises `DomainError` on field
    `header`, before any row, when the header has unknown, missing or repeated columns.
    """
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = _csv_header(next(reader, []))
    except csv.Error as error:
        raise DomainError(f"the CSV header is not readable: {error}", field="header") from None
    while True:
        row = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield RejectedRow(row, (FieldError(None, f"not readable as CSV: {error}"),))
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield RejectedRow(row, (FieldError(None, f"expected {len(header)} cells, found {len(cells)}"),))
            continue
        yield _csv_row(row, dict(zip(header, cells, strict=True)), program_id)


def _csv_row(row: int, cells: dict[str, str], program_id: UUID) -> ImportedRow:
    data: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, cell in cells.items():
        # An empty cell is a missing value: the field's default, or "Field required".
        if not cell.strip():
            continue
        try:
            data[name] = _LIST_CELLS[name](cell) if name in _LIST_CELLS else cell
        except _CellError as error:
            errors.append(FieldError(name, str(error)))
    return _command(row, data, program_id, errors)


def parse_jsonl(lines: Iterable[str], *, program_id: UUID) -> Iterator[ImportedRow]:
    """Parse enrollment JSON lines into one result per non-blank line."""
    for row, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as error:
            yield RejectedRow(row, (FieldError(None, f"not valid JSON: {error}"),))
            continue
        if not isinstance(data, dict):
            yield RejectedRow(row, (FieldError(None, "expected a JSON object"),))
            continue
        yield _command(row, data, program_id, [])
