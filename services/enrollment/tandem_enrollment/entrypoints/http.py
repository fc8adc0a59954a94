"""The HTTP API of programs and enrollments. Routes are thin: parse, call the application, answer.

Commands answer with what they changed, from the write side; GETs read the read model, which
follows a moment later. Errors are problem documents (the kernel's `problems`): 404 unknown ids,
409 conflicts and transitions the state does not allow, 422 invalid input, with the field.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, AccessDenied, allow, service
from tandem_kernel.api import IdempotencyDep, MetadataDep, PoolDep, RuntimeDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.events import TRUSTED
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_enrollment.adapters import queries
from tandem_enrollment.application import PARTICIPANTS, PROGRAMS, enrollments, people, programs
from tandem_enrollment.domain import (
    ChangeEligibilityRules,
    ChangeProgramObjectives,
    CreateProgram,
    ParticipantStatus,
    ProgramStatus,
    Role,
    UpdateParticipantProfile,
    WithdrawParticipant,
    enrollment_id,
)
from tandem_enrollment.entrypoints.schemas import (
    EnrollmentChanged,
    EnrollmentCreate,
    ParticipantPage,
    ParticipantPublic,
    ProgramChanged,
    ProgramPage,
    ProgramPublic,
    enroll_command,
)

__all__ = ["enrollments_router", "programs_router"]

programs_router = APIRouter(prefix="/programs", tags=["programs"], route_class=StrictJSONRoute)
enrollments_router = APIRouter(prefix="/programs/{program_id}", tags=["enrollments"], route_class=StrictJSONRoute)

# Who may call what (see tandem_kernel.access). "Their own": a participant and their enrollment.
HrOrPlatform = Annotated[Principal, allow(PROGRAM_ADMIN, service("enrollment:write"))]
HrOrReader = Annotated[Principal, allow(PROGRAM_ADMIN, service("enrollment:read"))]
HrPlatformOrThemselves = Annotated[Principal, allow(PROGRAM_ADMIN, service("enrollment:write"), PARTICIPANT)]
HrReaderOrThemselves = Annotated[Principal, allow(PROGRAM_ADMIN, service("enrollment:read"), PARTICIPANT)]
HrOrThemselves = Annotated[Principal, allow(PROGRAM_ADMIN, PARTICIPANT)]
Anyone = Annotated[
    Principal, allow(PROGRAM_ADMIN, PARTICIPANT, service("enrollment:read"), service("enrollment:write"))
]


def _employee_only(caller: Principal) -> bool:
    """An employee acting for themselves, with no HR or platform role besides."""
    return not (caller.has(Roles.PROGRAM_ADMIN) or caller.has(Roles.SERVICE))


def _limited(caller: Principal) -> bool:
    """A program admin limited to some programs (and nothing more)."""
    return caller.has(Roles.PROGRAM_ADMIN) and caller.programs is not None and not caller.has(Roles.SERVICE)


def _theirs(caller: Principal, program_id: UUID, participant_id: UUID) -> None:
    """A participant acts on their own enrollment only; anyone else's is, to them, not there."""
    if not _employee_only(caller):
        return
    mine = caller.employee_id is not None and participant_id == enrollment_id(program_id, caller.employee_id.upper())
    if not mine:
        raise NotFound("no such enrollment")


Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")]


# -- programs ----------------------------------------------------------------------------------


@programs_router.post("", status_code=201, summary="Create a program, in draft")
async def create_program(
    body: CreateProgram,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    response: Response,
    caller: HrOrPlatform,
) -> ProgramChanged:
    """Create a program on its terms, in draft; `Location` names it. Open it to take enrollments."""
    changed = ProgramChanged.of(await programs.create(store, body, metadata=metadata, idempotency=idempotency))
    response.headers["Location"] = f"/programs/{changed.program_id}"
    return changed


@programs_router.get("", summary="List programs, oldest first")
async def list_programs(
    pool: PoolDep, caller: Anyone, status: ProgramStatus | None = None, limit: Limit = 50, cursor: Cursor = None
) -> ProgramPage:
    """Programs oldest first, optionally those in one status; follow `next_cursor` for the next page.
    Employees see the programs they can join or take part in (not drafts); an admin limited to some
    programs sees those."""
    page = await queries.programs(
        pool,
        status=status,
        limit=limit,
        cursor=cursor,
        only=sorted(caller.programs) if _limited(caller) and caller.programs is not None else None,
        drafts=not _employee_only(caller),
    )
    return ProgramPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})


@programs_router.get("/{program_id}", summary="A program, its terms and participant counts", responses=problems(404))
async def get_program(program_id: UUID, pool: PoolDep, runtime: RuntimeDep, caller: Anyone) -> ProgramPublic:
    """The program's terms (among them the `languages` and `objectives` an enrollment chooses from),
    its status and its participants counted by status."""
    await runtime.read_models_include(PROGRAMS.stream_id(program_id))  # read your own writes
    found = await queries.program(pool, program_id)
    hidden = found is not None and (
        (_employee_only(caller) and found["status"] == ProgramStatus.DRAFT)
        or (_limited(caller) and not caller.administers(program_id))
    )
    if found is None or hidden:
        raise NotFound("no such program")
    return ProgramPublic.model_validate(found)


@programs_router.put(
    "/{program_id}/objectives", summary="Replace the catalogue of objectives", responses=problems(404, 409)
)
async def change_objectives(
    program_id: UUID,
    body: ChangeProgramObjectives,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    caller: HrOrPlatform,
) -> ProgramChanged:
    """Replace the catalogue of objectives while the program is a draft or open."""
    outcome = await programs.change_objectives(store, program_id, body, metadata=metadata, idempotency=idempotency)
    return ProgramChanged.of(outcome)


@programs_router.put("/{program_id}/eligibility", summary="Replace the eligibility rules", responses=problems(404, 409))
async def change_eligibility(
    program_id: UUID,
    body: ChangeEligibilityRules,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    caller: HrOrPlatform,
) -> ProgramChanged:
    """Replace the eligibility rules while the program is a draft or open; people enrolled stay."""
    outcome = await programs.change_eligibility(store, program_id, body, metadata=metadata, idempotency=idempotency)
    return ProgramChanged.of(outcome)


@programs_router.post("/{program_id}/open", summary="Open a draft program for enrollment", responses=problems(404, 409))
async def open_program(
    program_id: UUID, store: StoreDep, metadata: MetadataDep, idempotency: IdempotencyDep, caller: HrOrPlatform
) -> ProgramChanged:
    """Open a draft for enrollment; it needs at least one objective (422 otherwise)."""
    return ProgramChanged.of(await programs.open_(store, program_id, metadata=metadata, idempotency=idempotency))


@programs_router.post(
    "/{program_id}/start", summary="Start an open program: enrollment ends", responses=problems(404, 409)
)
async def start_program(
    program_id: UUID, store: StoreDep, metadata: MetadataDep, idempotency: IdempotencyDep, caller: HrOrPlatform
) -> ProgramChanged:
    """Start an open program: enrollment ends, sessions begin."""
    return ProgramChanged.of(await programs.start(store, program_id, metadata=metadata, idempotency=idempotency))


@programs_router.post("/{program_id}/close", summary="Close a running program", responses=problems(404, 409))
async def close_program(
    program_id: UUID, store: StoreDep, metadata: MetadataDep, idempotency: IdempotencyDep, caller: HrOrPlatform
) -> ProgramChanged:
    """Close a running program: pairing ends its pairs."""
    return ProgramChanged.of(await programs.close(store, program_id, metadata=metadata, idempotency=idempotency))


# -- enrollments -------------------------------------------------------------------------------


@enrollments_router.post(
    "/enrollments",
    status_code=201,
    summary="Enroll an employee",
    description="The answer's `status` says whether they were approved at once, waitlisted or await approval.",
    responses=problems(404, 409),
)
async def enroll(
    program_id: UUID,
    body: Annotated[EnrollmentCreate, Body()],  # type: ignore[valid-type]
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    response: Response,
    caller: HrPlatformOrThemselves,
) -> EnrollmentChanged:
    """Enroll an employee: HR or an HR platform for anyone, an employee for themselves only."""
    command = enroll_command(program_id, body)
    if _employee_only(caller) and not caller.is_employee(command.employee_id):
        raise AccessDenied("an employee enrolls themselves only: `employee_id` must be yours")
    changed = EnrollmentChanged.of(await enrollments.enroll(store, command, metadata=metadata, idempotency=idempotency))
    response.headers["Location"] = f"/programs/{program_id}/enrollments/{changed.participant_id}"
    return changed


@enrollments_router.get(
    "/enrollments/{participant_id}", summary="An enrollment, with the participant's profile", responses=problems(404)
)
async def get_enrollment(
    program_id: UUID, participant_id: UUID, pool: PoolDep, runtime: RuntimeDep, caller: HrReaderOrThemselves
) -> ParticipantPublic:
    """An enrollment as the read model has it: profile, status, and whether HR vetted them. Right
    after a command, it waits (bounded) for the read model to include what the command wrote."""
    _theirs(caller, program_id, participant_id)
    await runtime.read_models_include(PARTICIPANTS.stream_id(participant_id))  # read your own writes
    found = await queries.participant(pool, program_id, participant_id)
    if found is None:
        raise NotFound("no such enrollment")
    return ParticipantPublic.model_validate(found, context=TRUSTED)  # the read model's row: see list_participants


@enrollments_router.patch(
    "/enrollments/{participant_id}", summary="Change some profile fields", responses=problems(404, 409)
)
async def update_profile(
    program_id: UUID,
    participant_id: UUID,
    body: UpdateParticipantProfile,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    caller: HrPlatformOrThemselves,
) -> EnrollmentChanged:
    """Change the fields sent, and only those; `null` clears `manager_employee_id` or `personal_goals`."""
    _theirs(caller, program_id, participant_id)
    outcome = await enrollments.update_profile(
        store, program_id, participant_id, body, metadata=metadata, idempotency=idempotency
    )
    return EnrollmentChanged.of(outcome)


@enrollments_router.post(
    "/enrollments/{participant_id}/approve",
    summary="Approve an applicant or a waitlisted participant",
    description="If the program is full, an applicant is waitlisted instead (see the answer's `status`); "
    "a waitlisted participant stays waitlisted (409). Places freed by withdrawals go to the waitlist by themselves.",
    responses=problems(404, 409),
)
async def approve(
    program_id: UUID,
    participant_id: UUID,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    caller: HrOrPlatform,
) -> EnrollmentChanged:
    outcome = await enrollments.approve(store, program_id, participant_id, metadata=metadata, idempotency=idempotency)
    return EnrollmentChanged.of(outcome)


@enrollments_router.post(
    "/enrollments/{participant_id}/withdraw", summary="Withdraw from the program", responses=problems(404, 409)
)
async def withdraw(
    program_id: UUID,
    participant_id: UUID,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    caller: HrPlatformOrThemselves,
    body: Annotated[WithdrawParticipant | None, Body()] = None,
) -> EnrollmentChanged:
    """Withdraw from the program, with a reason from a closed list; a place freed goes to the vetted who wait."""
    _theirs(caller, program_id, participant_id)
    command = body or WithdrawParticipant()
    outcome = await enrollments.withdraw(
        store, program_id, participant_id, command, metadata=metadata, idempotency=idempotency
    )
    return EnrollmentChanged.of(outcome)


@enrollments_router.delete(
    "/enrollments/{participant_id}/personal-data",
    summary="Erase the person who holds this enrollment (every program)",
    description="The data subject is the person: this erases every enrollment of the employee, as "
    "`DELETE /people/{employee_id}/personal-data` does, and answers with this one. Each is withdrawn if needed; "
    "name, email and goals become unreadable in every stored and published event. Ids, role and status remain.",
    responses=problems(404, 409),
)
async def erase(
    program_id: UUID,
    participant_id: UUID,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    caller: HrOrThemselves,
) -> EnrollmentChanged:
    _theirs(caller, program_id, participant_id)
    outcome = await people.erase_holder(store, program_id, participant_id, metadata=metadata, idempotency=idempotency)
    return EnrollmentChanged.of(outcome)


@enrollments_router.get(
    "/participants", summary="A program's participants, filtered, in enrollment order", responses=problems(404)
)
async def list_participants(
    program_id: UUID,
    pool: PoolDep,
    caller: HrOrReader,
    role: Role | None = None,
    status: ParticipantStatus | None = None,
    department: Annotated[str | None, Query(max_length=120)] = None,
    site: Annotated[str | None, Query(max_length=120)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ParticipantPage:
    """A program's participants in enrollment order, filtered by role, status, department or site
    (ignoring case), page by page."""
    if not await queries.program_exists(pool, program_id):
        raise NotFound("no such program")
    filters = queries.ParticipantFilters(role=role, status=status, department=department, site=site)
    page = await queries.participants(pool, program_id, filters, limit=limit, cursor=cursor)
    # Rows of the read model, folded from this service's own events: trusted, like the events (the
    # domain's checks of 50 profiles were half of the page's CPU).
    return ParticipantPage.model_validate({"items": page.items, "next_cursor": page.next_cursor}, context=TRUSTED)
