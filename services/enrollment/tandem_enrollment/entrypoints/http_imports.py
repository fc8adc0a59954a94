"""The HTTP API of bulk imports: upload a file, then follow the job.

The file comes as a multipart form field `file`, or as the raw body with `Content-Type: text/csv`
or `application/x-ndjson`; `?format=` overrides what the media type or file name says.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.datastructures import UploadFile
from tandem_kernel.access import PROGRAM_ADMIN, allow, service
from tandem_kernel.api import MetadataDep, PoolDep, RuntimeDep, StoreDep
from tandem_kernel.errors import DomainError, NotFound
from tandem_kernel.identity import Principal
from tandem_kernel.openapi import problems
from tandem_kernel.runtime import Runtime

from tandem_enrollment.adapters import import_jobs
from tandem_enrollment.application import FileFormat, imports
from tandem_enrollment.entrypoints.schemas import ImportJobPublic

__all__ = ["imports_router"]

imports_router = APIRouter(tags=["imports"])

# An HR system that imports (enrollment:write) follows its own imports too.
Importer = Annotated[Principal, allow(PROGRAM_ADMIN, service("enrollment:write"), service("enrollment:read"))]
HrOrImporter = Annotated[Principal, allow(PROGRAM_ADMIN, service("enrollment:write"))]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_MEDIA_TYPES = {
    "text/csv": FileFormat.CSV,
    "application/csv": FileFormat.CSV,
    "application/x-ndjson": FileFormat.JSONL,
    "application/jsonl": FileFormat.JSONL,
    "application/x-jsonlines": FileFormat.JSONL,
}
_SUFFIXES = {".csv": FileFormat.CSV, ".jsonl": FileFormat.JSONL, ".ndjson": FileFormat.JSONL}

_UPLOAD_DOCS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


async def _upload(request: Request) -> tuple[bytes, str | None, FileFormat | None]:
    """The uploaded bytes, the file's name if it had one, and the format its type or name says."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"files up to {MAX_UPLOAD_BYTES // 2**20} MiB")
    if _media_type(request.headers.get("content-type")) != "multipart/form-data":
        content = await request.body()
        return content, None, _MEDIA_TYPES.get(_media_type(request.headers.get("content-type")))
    form = await request.form(max_files=1, max_part_size=MAX_UPLOAD_BYTES)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise DomainError("send the file in the form field `file`", field="file")
    name = upload.filename
    found = _MEDIA_TYPES.get(_media_type(upload.content_type)) or _SUFFIXES.get(PurePath(name or "").suffix.lower())
    return await upload.read(), name, found


async def _job(
    runtime: Runtime, pool: asyncpg.Pool, job_id: UUID, *, after_row: int = 0, limit: int = 100
) -> ImportJobPublic:
    job = await import_jobs.get(pool, job_id)
    if job is None:
        raise NotFound("no such import job")
    report = await import_jobs.problems(pool, job_id, after_row=after_row, limit=limit)
    # Completed means every row was handled; readable, that the read model lists them all too.
    readable = job["status"] == "completed" and (
        not job["last_position"] or await runtime.read_models_include(position=job["last_position"], timeout=0)
    )
    return ImportJobPublic.model_validate({**job, "report": report, "readable": readable})


@imports_router.post(
    "/programs/{program_id}/imports",
    status_code=202,
    summary="Enroll everyone in a CSV or JSON-lines file, in the background",
    description="Answers at once with the queued job; follow it at the `Location`. Valid rows are enrolled, "
    "invalid ones reported; importing the same file again enrolls nobody twice.",
    openapi_extra=_UPLOAD_DOCS,
    responses=problems(400, 404, 409, 413, 415),
)
async def start_import(
    program_id: UUID,
    request: Request,
    store: StoreDep,
    runtime: RuntimeDep,
    metadata: MetadataDep,
    response: Response,
    caller: HrOrImporter,
    file_format: Annotated[FileFormat | None, Query(alias="format")] = None,
) -> ImportJobPublic:
    content, name, found = await _upload(request)
    if len(content) > MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"files up to {MAX_UPLOAD_BYTES // 2**20} MiB")
    chosen = file_format or found
    if chosen is None:
        raise HTTPException(415, "send text/csv or application/x-ndjson, or say ?format=csv|jsonl")
    job_id = await imports.submit(store, program_id, content, chosen, file_name=name, metadata=metadata)
    response.headers["Location"] = f"/imports/{job_id}"
    return await _job(runtime, store.pool, job_id)


@imports_router.get(
    "/imports/{job_id}", summary="An import's progress and its report of rows not enrolled", responses=problems(404)
)
async def get_import(
    job_id: UUID,
    pool: PoolDep,
    runtime: RuntimeDep,
    caller: Importer,
    report_after_row: Annotated[int, Query(ge=0, description="Report rows after this row number.")] = 0,
    report_limit: Annotated[int, Query(ge=0, le=1000)] = 100,
) -> ImportJobPublic:
    """How far an import got, its counts, and the rows not enrolled with why (page with `report_after_row`)."""
    found = await _job(runtime, pool, job_id, after_row=report_after_row, limit=report_limit)
    if caller.programs is not None and not caller.has("service") and not caller.administers(found.program_id):
        raise NotFound("no such import job")  # an admin of other programs: as if it did not exist
    return found
