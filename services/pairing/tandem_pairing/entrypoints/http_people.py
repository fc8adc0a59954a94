"""The person behind the pool memberships, over HTTP: what pairing holds about them, in every program
(the right of access). Erasure is enrollment's (`DELETE /people/{employee_id}/personal-data`):
pairing forgets a profile when it hears `ParticipantErased`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, allow
from tandem_kernel.api import PoolDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.adapters import read_queries
from tandem_pairing.entrypoints.schemas import PersonPublic

__all__ = ["people_router"]

people_router = APIRouter(prefix="/people/{employee_id}", tags=["people"], route_class=StrictJSONRoute)

AdminOrThemselves = Annotated[Principal, allow(PROGRAM_ADMIN, PARTICIPANT)]

EmployeeIdPath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="The employer's id of the person, in any case (`p-j2w` and `P-J2W` are one person).",
        examples=["E01001"],
    ),
]


@people_router.get(
    "",
    summary="Everything pairing holds about one person, in every program",
    description="The right of access: each pool membership with the profile pairing matches on, and every "
    "proposal and pair. `?download=true` answers the same JSON as a file to save.",
    responses=problems(404),
)
async def get_person(
    employee_id: EmployeeIdPath,
    pool: PoolDep,
    response: Response,
    caller: AdminOrThemselves,
    download: Annotated[bool, Query(description="Answer as an attachment (a file to save).")] = False,
) -> PersonPublic:
    # Every program's admin, or the person; anyone else (an admin of some programs) finds nobody.
    if not caller.is_employee(employee_id) and not (caller.has(Roles.PROGRAM_ADMIN) and caller.programs is None):
        raise NotFound("pairing holds nothing about this employee")
    canonical = employee_id.upper()
    members = await pool_table.members_of_employee(pool, canonical)
    if not members:
        raise NotFound("pairing holds nothing about this employee")
    pairs = await read_queries.pairs_of_participants(pool, [member.participant_id for member in members])
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="tandem-pairing-{canonical}.json"'
    memberships = [asdict(member) for member in members]
    return PersonPublic.model_validate({"employee_id": canonical, "memberships": memberships, "pairs": pairs})
