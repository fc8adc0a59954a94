"""The person behind the enrollments, over HTTP: what enrollment holds about them (the right of
access) and their erasure, across every program: for a program admin of every program (not one
limited to some), and for the person themselves; to anyone else, nobody is there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, allow
from tandem_kernel.api import IdempotencyDep, MetadataDep, PoolDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_enrollment.adapters import import_jobs, queries
from tandem_enrollment.application import people
from tandem_enrollment.domain.values import EMPLOYEE_ID_PATTERN
from tandem_enrollment.entrypoints.schemas import EnrollmentChanged, PersonErased, PersonPublic

__all__ = ["people_router"]

people_router = APIRouter(prefix="/people/{employee_id}", tags=["people"], route_class=StrictJSONRoute)

AdminOrThemselves = Annotated[Principal, allow(PROGRAM_ADMIN, PARTICIPANT)]


def _may_see(caller: Principal, employee_id: str) -> None:
    """Every program's admin, or the person; anyone else (an admin of some programs) finds nobody."""
    if caller.is_employee(employee_id):
        return
    if not (caller.has(Roles.PROGRAM_ADMIN) and caller.programs is None):
        raise NotFound("enrollment holds nothing about this employee")


EmployeeIdPath = Annotated[
    str,
    Path(
        pattern=EMPLOYEE_ID_PATTERN,
        description="The employer's id of the person, in any case (`p-j2w` and `P-J2W` are one person).",
        examples=["E01001"],
    ),
]


@people_router.get(
    "",
    summary="Everything enrollment holds about one person, in every program",
    description="The right of access: each enrollment with its profile and status, and the import report rows "
    "naming them. `?download=true` answers the same JSON as a file to save.",
    responses=problems(404),
)
async def get_person(
    employee_id: EmployeeIdPath,
    pool: PoolDep,
    response: Response,
    caller: AdminOrThemselves,
    download: Annotated[bool, Query(description="Answer as an attachment (a file to save).")] = False,
) -> PersonPublic:
    _may_see(caller, employee_id)
    canonical = employee_id.upper()
    enrollments, mentions = await queries.person(pool, canonical), await import_jobs.mentions(pool, canonical)
    if not enrollments and not mentions:
        raise NotFound("enrollment holds nothing about this employee")
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="tandem-enrollment-{canonical}.json"'
    return PersonPublic.model_validate(
        {"employee_id": canonical, "enrollments": enrollments, "import_reports": mentions}
    )


@people_router.delete(
    "/personal-data",
    summary="Erase the person: every enrollment, in every program",
    description="Withdraws each of their enrollments if needed and shreds their keys: name, email and goals become "
    "unreadable in every stored and published event, and pairing forgets their profiles. Ids, roles and statuses "
    "remain, so counts do not change. Erasing again changes nothing.",
    responses=problems(404, 409),
)
async def erase_person(
    employee_id: EmployeeIdPath,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    caller: AdminOrThemselves,
) -> PersonErased:
    _may_see(caller, employee_id)
    erased = await people.erase(store, employee_id, metadata=metadata, idempotency=idempotency)
    return PersonErased(employee_id=employee_id.upper(), enrollments=[EnrollmentChanged.of(r) for r in erased])
