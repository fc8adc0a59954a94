"""An enrollment's stream: one per program and employee.

The stream id comes from `enrollment_id(program_id, employee_id)`, so one employee cannot enroll
twice in a program and re-importing a file finds the existing enrollments (`decide_enroll` refuses
them with `InvalidTransition`). Decisions that depend on the program receive what they need as
arguments (its `Program` state, its approved count): the application reads those, not the domain.

>>> events = decide_enroll(None, command, program=program, approved_count=0, now=now)
>>> participant = replay_participant(events)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from typing import Any
from uuid import UUID, uuid5

from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent

from tandem_enrollment.domain.commands import EnrollParticipant, UpdateParticipantProfile, WithdrawParticipant
from tandem_enrollment.domain.events import (
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantVetted,
    ParticipantWaitlisted,
    ParticipantWithdrew,
)
from tandem_enrollment.domain.profile import PERSONAL_FIELDS, PROFILE_FIELDS, ParticipantProfile
from tandem_enrollment.domain.program import Program
from tandem_enrollment.domain.values import ParticipantStatus, ProgramStatus, Role, WithdrawalReason
from tandem_enrollment.domain.waitlist import has_free_place

__all__ = [
    "Participant",
    "decide_approve",
    "decide_enroll",
    "decide_erase",
    "decide_update_profile",
    "decide_withdraw",
    "enrollment_id",
    "evolve_participant",
    "replay_participant",
]

# Fixed forever: changing it would give every existing enrollment a new id.
_ENROLLMENTS = UUID("5b0f3c1e-6d0a-5c8e-9a43-7e6f2d1c0b9a")


def enrollment_id(program_id: UUID, employee_id: str) -> UUID:
    """The enrollment (participant) id of an employee in a program: the same inputs, the same id."""
    return uuid5(_ENROLLMENTS, f"{program_id}/{employee_id}")


@dataclass(frozen=True, slots=True)
class Participant:
    """An enrollment as decisions see it. After erasure the profile's personal fields are `None`.

    `vetted`: HR approved them (an approved participant always is); a waitlisted participant may
    be vetted or not, and only a vetted one (or anyone in an auto-approving program) is admitted
    automatically when a place frees.
    """

    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role
    status: ParticipantStatus
    enrolled_at: datetime
    profile: ParticipantProfile
    erased: bool = False
    vetted: bool = False

    def identity(self) -> dict[str, Any]:
        """The fields every participant event starts with."""
        return {
            "participant_id": self.participant_id,
            "program_id": self.program_id,
            "employee_id": self.employee_id,
            "role": self.role,
        }


def _existing(state: Participant | None) -> Participant:
    if state is None:
        raise NotFound("no such enrollment")
    return state


def _active(state: Participant | None) -> Participant:
    participant = _existing(state)
    if participant.status is ParticipantStatus.WITHDRAWN:
        raise InvalidTransition("this participant has withdrawn")
    return participant


def _fits_program(program: Program, *, languages: Iterable[str], objectives: Iterable[str]) -> None:
    if not set(languages) & set(program.languages):
        raise DomainError(
            f"speak at least one of the program's languages: {', '.join(program.languages)}", field="languages"
        )
    unknown = sorted(set(objectives) - program.objective_codes)
    if unknown:
        raise DomainError(f"not objectives of this program: {', '.join(unknown)}", field="objectives")


def _not_own_manager(employee_id: str, manager_employee_id: str | None) -> None:
    # Ids are compared as the canonical (upper-case) spelling; older events may hold another.
    if manager_employee_id is not None and manager_employee_id.upper() == employee_id.upper():
        raise DomainError("an employee cannot be their own manager", field="manager_employee_id")


def decide_enroll(
    state: Participant | None,
    command: EnrollParticipant,
    *,
    program: Program,
    approved_count: int,
    now: datetime,
) -> list[DomainEvent]:
    """Enroll an employee in an open program, then approve or waitlist them if that is decided now.

    Events: `ParticipantEnrolled`, followed by `ParticipantWaitlisted` when the program is full,
    else by `ParticipantApproved(automatic=True)` when the program auto-approves.
    """
    if state is not None:
        raise InvalidTransition(f"employee {state.employee_id} is already enrolled in this program")
    if command.program_id != program.program_id:
        raise DomainError("the command is for another program", field="program_id")
    if program.status is not ProgramStatus.OPEN:
        raise InvalidTransition(f"the program is {program.status}, not open for enrollment")
    if not command.consent:
        raise DomainError("enrolling needs the employee's explicit consent", field="consent")
    _not_own_manager(command.employee_id, command.manager_employee_id)
    program.eligibility.check(command.role, job_level=command.job_level, years_in_company=command.years_in_company)
    _fits_program(program, languages=command.languages, objectives=command.objectives)
    identity: dict[str, Any] = {
        "participant_id": enrollment_id(program.program_id, command.employee_id),
        "program_id": program.program_id,
        "employee_id": command.employee_id,
        "role": command.role,
    }
    profile: dict[str, Any] = {name: getattr(command, name) for name in PROFILE_FIELDS}
    enrolled = ParticipantEnrolled(**identity, **profile, enrolled_at=now)
    if not has_free_place(program.capacity, approved_count):
        waitlisted = ParticipantWaitlisted(**identity, enrolled_at=now)
        # An auto-approving program approves everyone: waiting, they are vetted already.
        vetted = ParticipantVetted(**identity, enrolled_at=now)
        return [enrolled, waitlisted, vetted] if program.auto_approve else [enrolled, waitlisted]
    if program.auto_approve:
        return [enrolled, ParticipantApproved(**identity, automatic=True)]
    return [enrolled]


def decide_approve(
    state: Participant | None, *, program: Program, approved_count: int, automatic: bool = False
) -> list[DomainEvent]:
    """Approve an applicant or a waitlisted participant: a place if one is free, else vetted to wait.

    HR's approval (`automatic` false) vets: with a free place the participant is approved; in a
    full program an applicant is waitlisted and vetted, a waitlisted participant vetted, and one
    vetted already stays as they are (`InvalidTransition`). An `automatic` approval (a place freed,
    see `admissions`) only admits someone vetted, or anyone in an auto-approving program.
    """
    participant = _active(state)
    if participant.status is ParticipantStatus.APPROVED:
        raise InvalidTransition("this participant is already approved")
    if program.status not in (ProgramStatus.OPEN, ProgramStatus.RUNNING):
        raise InvalidTransition(f"the program is {program.status}: nobody can be approved")
    vetted = participant.vetted or program.auto_approve
    if automatic and not vetted:
        raise InvalidTransition("this participant waits for HR's approval, not only for a place")
    if has_free_place(program.capacity, approved_count):
        return [ParticipantApproved(**participant.identity(), automatic=automatic)]
    if participant.status is ParticipantStatus.WAITLISTED and (vetted or automatic):
        raise InvalidTransition("the program is full: the participant stays on the waitlist, approved")
    events: list[DomainEvent] = []
    if participant.status is not ParticipantStatus.WAITLISTED:
        events.append(ParticipantWaitlisted(**participant.identity(), enrolled_at=participant.enrolled_at))
    return [*events, ParticipantVetted(**participant.identity(), enrolled_at=participant.enrolled_at)]


def decide_withdraw(state: Participant | None, command: WithdrawParticipant) -> list[DomainEvent]:
    """Withdraw from the program, from any status but withdrawn."""
    participant = _active(state)
    return [ParticipantWithdrew(**participant.identity(), reason=command.reason, previous_status=participant.status)]


def decide_update_profile(
    state: Participant | None, command: UpdateParticipantProfile, *, program: Program
) -> list[DomainEvent]:
    """Record the fields that really change; nothing happens if none does.

    Languages and objectives must still fit the program. Eligibility is not checked again: a
    promotion during the program does not exclude anyone.
    """
    participant = _active(state)
    current = participant.profile
    _not_own_manager(participant.employee_id, command.changes().get("manager_employee_id"))
    changes = {name: value for name, value in command.changes().items() if getattr(current, name) != value}
    if not changes:
        return []
    _fits_program(
        program,
        languages=changes.get("languages", current.languages),
        objectives=changes.get("objectives", current.objectives),
    )
    return [ParticipantProfileUpdated(**participant.identity(), changed_fields=tuple(changes), **changes)]


def decide_erase(state: Participant | None) -> list[DomainEvent]:
    """Erase the participant's personal data, withdrawing them first if needed; idempotent."""
    participant = _existing(state)
    if participant.erased:
        return []
    erased = ParticipantErased(**participant.identity())
    if participant.status is ParticipantStatus.WITHDRAWN:
        return [erased]
    # An erased person cannot take part: withdrawing first frees their place for the waitlist.
    withdrew = ParticipantWithdrew(
        **participant.identity(), reason=WithdrawalReason.ERASURE, previous_status=participant.status
    )
    return [withdrew, erased]


def evolve_participant(state: Participant | None, event: DomainEvent) -> Participant:
    """The enrollment after `event`. Raises `TypeError` on an event that is not an enrollment's."""
    if isinstance(event, ParticipantEnrolled):
        return Participant(
            participant_id=event.participant_id,
            program_id=event.program_id,
            employee_id=event.employee_id,
            role=event.role,
            status=ParticipantStatus.APPLIED,
            enrolled_at=event.enrolled_at,
            # The event was validated when it was made or read: copy, do not validate again.
            profile=ParticipantProfile.model_construct(**{name: getattr(event, name) for name in PROFILE_FIELDS}),
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before ParticipantEnrolled")
    match event:
        case ParticipantApproved():
            return replace(state, status=ParticipantStatus.APPROVED, vetted=True)
        case ParticipantVetted():
            return replace(state, vetted=True)
        case ParticipantWaitlisted():
            return replace(state, status=ParticipantStatus.WAITLISTED)
        case ParticipantWithdrew():
            return replace(state, status=ParticipantStatus.WITHDRAWN)
        case ParticipantProfileUpdated():
            changes = {name: getattr(event, name) for name in event.changed_fields}
            return replace(state, profile=state.profile.model_copy(update=changes))
        case ParticipantErased():
            blanked = state.profile.model_copy(update=dict.fromkeys(PERSONAL_FIELDS))
            return replace(state, profile=blanked, erased=True)
    raise TypeError(f"not an enrollment event: {type(event).__name__}")


def replay_participant(events: Iterable[DomainEvent], state: Participant | None = None) -> Participant | None:
    """Fold `events` into `state` (from nothing by default): `None` if there were none."""
    return reduce(evolve_participant, events, state)
