"""Import jobs: an uploaded file is checked at once, then enrolled in the background.

`ImportJobs.submit` refuses what can be refused before any work (unknown program, a program not
open, a file that is not UTF-8, an unusable CSV header), records a queued job and starts a task in
this process. The task parses the file (in a thread: parsing 20,000 rows is CPU work), then enrolls
its rows through `bulk.import_rows`, recording counts and the report after every chunk so that
`GET /imports/{job_id}` shows progress. A job cut short (shutdown, crash) is marked failed;
importing the file again is safe, since rows already enrolled count as duplicates.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from enum import StrEnum
from uuid import UUID, uuid4

from tandem_kernel.errors import DomainError, InvalidTransition
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_enrollment.adapters import import_jobs
from tandem_enrollment.application.bulk import import_rows
from tandem_enrollment.application.streams import load_program
from tandem_enrollment.domain import ImportedRow, ProgramStatus, parse_csv, parse_jsonl

__all__ = ["INTERRUPTED", "FileFormat", "ImportJobs", "parse_file"]

log = logging.getLogger("tandem.enrollment.imports")

INTERRUPTED = "interrupted before the end (the service stopped); import the file again: enrolled rows are skipped"


class FileFormat(StrEnum):
    """The formats an import file may have (see `domain.bulk_import`)."""

    CSV = "csv"
    JSONL = "jsonl"


def _text(content: bytes) -> str:
    try:
        # utf-8-sig drops the byte-order mark spreadsheets like to write.
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DomainError(f"the file is not UTF-8 text (byte {error.start})", field="file") from None


def _rows(text: str, file_format: FileFormat, program_id: UUID) -> Iterator[ImportedRow]:
    lines = io.StringIO(text, newline="")
    if file_format is FileFormat.CSV:
        return parse_csv(lines, program_id=program_id)
    return parse_jsonl(lines, program_id=program_id)


def parse_file(content: bytes, file_format: FileFormat, program_id: UUID) -> list[ImportedRow]:
    """Every row of an import file, accepted or rejected. Raises `DomainError` for an unusable file."""
    return list(_rows(_text(content), file_format, program_id))


def _check_readable(content: bytes, file_format: FileFormat, program_id: UUID) -> None:
    text = _text(content)
    if file_format is FileFormat.CSV:
        header = text.split("\n", 1)[0].rstrip("\r")
        next(parse_csv([header], program_id=program_id), None)  # raises DomainError on field `header`


class ImportJobs:
    """The import jobs this process runs.

    >>> jobs = ImportJobs(store)
    >>> job_id = await jobs.submit(program_id, content, FileFormat.CSV, file_name="hr.csv", metadata=metadata)
    """

    def __init__(self, store: EventStore, *, chunk_size: int = 500, concurrency: int = 8) -> None:
        self.store = store
        self.chunk_size = chunk_size
        self.concurrency = concurrency
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(
        self,
        program_id: UUID,
        content: bytes,
        file_format: FileFormat,
        *,
        file_name: str | None,
        metadata: EventMetadata,
    ) -> UUID:
        """Check the file and the program, record a queued job and start it; returns the job id."""
        program = await load_program(self.store, program_id)
        if program.status is not ProgramStatus.OPEN:
            raise InvalidTransition(f"the program is {program.status}, not open for enrollment")
        _check_readable(content, file_format, program_id)
        job_id = uuid4()
        await import_jobs.create(
            self.store.pool,
            job_id=job_id,
            program_id=program_id,
            file_name=file_name,
            file_format=file_format.value,
            requested_by=metadata.actor,
        )
        # Every event of the import shares the job's id as correlation id.
        job_metadata = replace(metadata, correlation_id=metadata.correlation_id or job_id)
        task = asyncio.create_task(self._run(job_id, program_id, content, file_format, job_metadata))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job_id

    async def _run(
        self, job_id: UUID, program_id: UUID, content: bytes, file_format: FileFormat, metadata: EventMetadata
    ) -> None:
        pool = self.store.pool
        try:
            rows = await asyncio.to_thread(parse_file, content, file_format, program_id)
            await import_jobs.start(pool, job_id, len(rows))
            await import_rows(
                self.store,
                program_id,
                rows,
                metadata=metadata,
                report=lambda chunk: import_jobs.record(pool, job_id, chunk),
                chunk_size=self.chunk_size,
                concurrency=self.concurrency,
            )
            await import_jobs.finish(pool, job_id)
        except asyncio.CancelledError:
            await import_jobs.fail(pool, job_id, INTERRUPTED)
            raise
        except Exception as error:  # the job fails, the service goes on
            log.exception("import job %s failed", job_id)
            await import_jobs.fail(pool, job_id, f"{type(error).__name__}: {error}")

    async def wait(self) -> None:
        """Until every job started so far has ended (tests, the benchmark)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the running jobs; each is marked failed, and can be imported again."""
        for task in self._tasks:
            task.cancel()
        await self.wait()
