"""Enrolling the rows of an import file: a chunk at a time, bad rows never blocking the rest.

Each chunk is decided in memory (`decide_enroll`, row by row, so a refusal concerns only its row)
and its new enrollment streams start in one statement (`EventStore.start_streams`), in one
transaction that holds the program's places (recording the places the chunk took) and records the
chunk's report (`record`): an import that stops is resumed after its last committed chunk, never
in the middle of one. Employees the read model already knows as enrolled are duplicates from the
start (it may lag, but never lists someone who is not). A chunk that still meets an existing
enrollment fails as a whole and is enrolled row by row instead, `concurrency` at a time, where an
existing stream at version 0 (`ConcurrencyError`) marks the duplicate, unless this very import
enrolled them before it was resumed (their events carry its correlation id). Importing a file
twice therefore enrolls nobody twice. The program is read again before each chunk, so an import
notices the program starting or closing under it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

import asyncpg
from tandem_kernel.errors import ConcurrencyError, DomainError
from tandem_kernel.events import EventMetadata, NewEvent
from tandem_kernel.store import EventStore, UnitOfWork

from tandem_enrollment.adapters import queries
from tandem_enrollment.application.enrollments import enroll_new
from tandem_enrollment.application.places import ProgramPlaces
from tandem_enrollment.application.streams import PARTICIPANTS, load_program
from tandem_enrollment.domain import (
    AcceptedRow,
    FieldError,
    ImportedRow,
    Program,
    RejectedRow,
    decide_enroll,
    enrollment_id,
)

__all__ = ["ChunkReport", "RowOutcome", "RowReport", "import_rows"]


class RowOutcome(StrEnum):
    """What became of a row."""

    ENROLLED = "enrolled"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RowReport:
    """A row that was not enrolled, and why."""

    row: int
    outcome: RowOutcome
    employee_id: str | None
    errors: tuple[FieldError, ...]


@dataclass(slots=True)
class ChunkReport:
    """What rows did: counts, and a report for each row not enrolled."""

    enrolled: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[RowReport] = field(default_factory=list)
    last_position: int = 0  # of the last event the rows wrote: once read models pass it, they are readable

    @property
    def processed(self) -> int:
        return self.enrolled + self.duplicates + self.rejected

    def add(self, report: RowReport | None) -> None:
        """Count a row: `None` for one enrolled."""
        if report is None:
            self.enrolled += 1
            return
        self.problems.append(report)
        if report.outcome is RowOutcome.DUPLICATE:
            self.duplicates += 1
        else:
            self.rejected += 1

    def merge(self, other: ChunkReport) -> None:
        self.enrolled += other.enrolled
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.problems.extend(other.problems)
        self.last_position = max(self.last_position, other.last_position)


def _duplicate(row: AcceptedRow) -> RowReport:
    employee_id = row.command.employee_id
    already = FieldError("employee_id", f"employee {employee_id} is already enrolled in this program")
    return RowReport(row.row, RowOutcome.DUPLICATE, employee_id, (already,))


def _refused(row: AcceptedRow, refusal: DomainError) -> RowReport:
    return RowReport(
        row.row, RowOutcome.REJECTED, row.command.employee_id, (FieldError(refusal.field, refusal.detail),)
    )


Record = Callable[[asyncpg.Connection | asyncpg.Pool, ChunkReport], Awaitable[None]]
"""Keeps a chunk's report; given the chunk's own transaction when the chunk went in all at once."""


async def _all_at_once(
    unit: UnitOfWork, program: Program, rows: Sequence[AcceptedRow], metadata: EventMetadata
) -> tuple[list[RowReport | None], int]:
    """Decide every row, then start all their streams in one statement; `ConcurrencyError` if any exists."""
    reports: list[RowReport | None] = []
    streams: dict[str, list[NewEvent]] = {}
    held = ProgramPlaces(program, metadata)
    await held.before(unit)
    now = unit.store.clock.now()
    for row in rows:
        stream_id = PARTICIPANTS.stream_id(enrollment_id(program.program_id, row.command.employee_id))
        if stream_id in streams:  # the same employee twice in the chunk
            reports.append(_duplicate(row))
            continue
        try:
            events = decide_enroll(None, row.command, program=program, approved_count=held.approved, now=now)
        except DomainError as refusal:
            reports.append(_refused(row, refusal))
            continue
        held.count(events)
        streams[stream_id] = [NewEvent(event, occurred_at=now) for event in events]
        reports.append(None)
    positions = await unit.start_streams(streams, metadata=metadata)
    await held.after(unit, ())
    return reports, max(positions, default=0)


async def _one_by_one(
    store: EventStore, program: Program, row: AcceptedRow, metadata: EventMetadata, resumed: bool
) -> RowReport | int:
    """The row's report if it was not enrolled, else the position of its last event."""
    try:
        return await enroll_new(store, program, row.command, metadata=metadata)
    except ConcurrencyError:
        if resumed and await _enrolled_by(store, program, row, metadata):
            return 0  # this import enrolled them before it was stopped and resumed
        return _duplicate(row)
    except DomainError as refusal:
        return _refused(row, refusal)


async def _enrolled_by(store: EventStore, program: Program, row: AcceptedRow, metadata: EventMetadata) -> bool:
    if metadata.correlation_id is None:
        return False
    stream_id = PARTICIPANTS.stream_id(enrollment_id(program.program_id, row.command.employee_id))
    first = await store.read_stream(stream_id)
    return bool(first) and first[0].correlation_id == metadata.correlation_id


async def _enroll_chunk(
    store: EventStore,
    program: Program,
    rows: Sequence[ImportedRow],
    metadata: EventMetadata,
    gate: asyncio.Semaphore,
    record: Record | None,
    resumed: bool,
) -> ChunkReport:
    known_reports: list[RowReport] = []
    for row in rows:
        if isinstance(row, RejectedRow):
            known_reports.append(RowReport(row.row, RowOutcome.REJECTED, None, row.errors))
    accepted = [row for row in rows if isinstance(row, AcceptedRow)]
    known = await queries.enrolled_employees(
        store.pool, program.program_id, [row.command.employee_id for row in accepted]
    )
    for row in accepted:
        if row.command.employee_id in known and not (resumed and await _enrolled_by(store, program, row, metadata)):
            known_reports.append(_duplicate(row))
    accepted = [row for row in accepted if row.command.employee_id not in known]

    def report_of(reports: Sequence[RowReport | int | None], last_position: int = 0) -> ChunkReport:
        chunk = ChunkReport(last_position=last_position)
        for report in [*known_reports, *reports]:
            if isinstance(report, int):  # enrolled one by one: where their events went
                chunk.last_position = max(chunk.last_position, report)
                report = None
            chunk.add(report)
        chunk.enrolled += len(rows) - len(accepted) - len(known_reports)  # enrolled by this import, earlier
        return chunk

    try:
        async with store.transaction() as unit:
            chunk = report_of(*await _all_at_once(unit, program, accepted, metadata))
            if record is not None:
                await record(unit.connection, chunk)
        return chunk
    except ConcurrencyError:

        async def bounded(row: AcceptedRow) -> RowReport | int:
            async with gate:
                return await _one_by_one(store, program, row, metadata, resumed)

        # A task group: if the database fails under one row, the chunk's other rows stop too.
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(bounded(row)) for row in accepted]
        chunk = report_of([task.result() for task in tasks])
    if record is not None:
        await record(store.pool, chunk)
    return chunk


async def import_rows(
    store: EventStore,
    program_id: UUID,
    rows: Sequence[ImportedRow],
    *,
    metadata: EventMetadata,
    record: Record | None = None,
    chunk_size: int = 500,
    concurrency: int = 8,
    resumed: bool = False,
) -> ChunkReport:
    """Enroll every accepted row into `program_id`; returns the totals.

    `resumed`: the import ran before and was stopped; rows it enrolled then are not duplicates.

    `record` keeps each chunk's report (in the chunk's transaction when it can). `concurrency`
    bounds the row-by-row appends of chunks that meet existing enrollments; keep it below the
    connection pool's size so that HTTP requests still find connections.
    """
    totals = ChunkReport()
    gate = asyncio.Semaphore(concurrency)
    for start in range(0, len(rows), chunk_size):
        program = await load_program(store, program_id)
        chunk = await _enroll_chunk(store, program, rows[start : start + chunk_size], metadata, gate, record, resumed)
        totals.merge(chunk)
    return totals
