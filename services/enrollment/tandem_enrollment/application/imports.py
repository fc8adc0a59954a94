"""Imports: an uploaded file is checked at once, then enrolled in the background, by any replica.

`submit` refuses what can be refused before any work (unknown program, a program not open, a file
that is not UTF-8, an unusable CSV header) and records, in one transaction, the import (queued),
its file (sealed: it is personal data) and a kernel job (`IMPORT_JOB`). The job (`run`) parses the
file and enrolls its rows through `bulk.import_rows`, each chunk's counts and report committed with
the chunk, so `GET /imports/{job_id}` shows progress and an import whose replica died is resumed by
another after its last committed chunk (see `tandem_kernel.jobs`).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from enum import StrEnum
from uuid import UUID, uuid4

from tandem_kernel.errors import DomainError, InvalidTransition
from tandem_kernel.events import EventMetadata
from tandem_kernel.jobs import enqueue, jobs_channel
from tandem_kernel.privacy import shred
from tandem_kernel.store import EventStore

from tandem_enrollment.adapters import import_jobs
from tandem_enrollment.application.bulk import import_rows
from tandem_enrollment.application.streams import load_program
from tandem_enrollment.domain import ImportedRow, ProgramStatus, parse_csv, parse_jsonl

__all__ = ["IMPORT_JOB", "FileFormat", "parse_file", "run", "submit"]

log = logging.getLogger("tandem.enrollment.imports")


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


IMPORT_JOB = "enrollment.import"
"""The kernel job that carries out an import (payload: its `job_id`)."""


def _file_subject(job_id: UUID) -> str:
    # The uploaded file is personal data: sealed with a key of its own, shredded when the job ends.
    return f"import-file-{job_id}"


async def submit(
    store: EventStore,
    program_id: UUID,
    content: bytes,
    file_format: FileFormat,
    *,
    file_name: str | None,
    metadata: EventMetadata,
) -> UUID:
    """Check the file and the program, then record the import, its sealed file and its job in one
    transaction; returns the import's id. Any replica carries the job out (see `run`)."""
    program = await load_program(store, program_id)
    if program.status is not ProgramStatus.OPEN:
        raise InvalidTransition(f"the program is {program.status}, not open for enrollment")
    _check_readable(content, file_format, program_id)
    assert store.keyring is not None, "imports keep their file sealed: the store needs its keyring"
    job_id = uuid4()
    async with store.transaction() as unit:
        await import_jobs.create(
            unit.connection,
            job_id=job_id,
            program_id=program_id,
            file_name=file_name,
            file_format=file_format.value,
            requested_by=metadata.actor,
            correlation_id=metadata.correlation_id or job_id,
        )
        sealed = await store.keyring.seal_bytes(unit.connection, _file_subject(job_id), content)
        await import_jobs.keep_file(unit.connection, job_id, sealed)
        await enqueue(
            unit.connection, IMPORT_JOB, {"job_id": str(job_id)}, key=str(job_id), channel=jobs_channel(store.schema)
        )
    return job_id


async def run(store: EventStore, job_id: UUID, *, chunk_size: int = 500, concurrency: int = 8) -> None:
    """Carry out an import, or resume it after its last committed chunk; idempotent.

    Parsing happens in a thread (20,000 rows are CPU work). When the import ends, however it ends,
    its file is deleted and the file's key shredded.
    """
    pool = store.pool
    job = await import_jobs.get(pool, job_id)
    if job is None or job["finished_at"] is not None:
        return
    program_id, processed = job["program_id"], job["processed"]
    try:
        assert store.keyring is not None
        sealed = await import_jobs.file(pool, job_id)
        content = await store.keyring.open_bytes(pool, _file_subject(job_id), sealed)
        rows = await asyncio.to_thread(parse_file, content, FileFormat(job["file_format"]), program_id)
        await import_jobs.start(pool, job_id, len(rows))
        metadata = EventMetadata(correlation_id=job["correlation_id"], actor=job["requested_by"])
        await import_rows(
            store,
            program_id,
            rows[processed:],
            metadata=metadata,
            record=lambda executor, chunk: import_jobs.record(executor, job_id, chunk),
            chunk_size=chunk_size,
            concurrency=concurrency,
            resumed=processed > 0 or job["status"] == "running",
        )
        await _end(store, job_id, None)
    except (DomainError, LookupError, ValueError) as refused:  # the program closed, the file is gone…
        log.warning("import %s stopped: %s", job_id, refused)
        await _end(store, job_id, f"{type(refused).__name__}: {refused}")


async def _end(store: EventStore, job_id: UUID, error: str | None) -> None:
    async with store.transaction() as unit:
        if error is None:
            await import_jobs.finish(unit.connection, job_id)
        else:
            await import_jobs.fail(unit.connection, job_id, error)
        await import_jobs.forget_file(unit.connection, job_id)
        await shred(unit.connection, _file_subject(job_id))
