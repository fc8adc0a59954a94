"""Enrollment's application layer: command handlers that load a stream, decide with the pure
domain and append; bulk imports; import jobs.

    outcome = await enrollments.enroll(store, command, metadata=metadata, idempotency=idempotency)
"""

from tandem_enrollment.application import enrollments, imports, people, programs
from tandem_enrollment.application.bulk import ChunkReport, RowOutcome, RowReport, import_rows
from tandem_enrollment.application.imports import FileFormat, parse_file
from tandem_enrollment.application.streams import PARTICIPANTS, PROGRAMS, load_program

__all__ = [
    "PARTICIPANTS",
    "PROGRAMS",
    "ChunkReport",
    "FileFormat",
    "RowOutcome",
    "RowReport",
    "enrollments",
    "import_rows",
    "imports",
    "load_program",
    "parse_file",
    "people",
    "programs",
]
