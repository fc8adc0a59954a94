"""HTTP request and response bodies that are not domain commands, split by purpose.

Command bodies are the domain's commands themselves (`CreateProgram`, `UpdateParticipantProfile`…),
except enrollment, whose program id comes from the URL (`EnrollmentCreate`). A command answers with
what it changed (`ProgramChanged`, `EnrollmentChanged`) from the write side; the full resources
(`ProgramPublic`, `ParticipantPublic`) come from the read model, a moment later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model
from tandem_kernel.commands import CommandResult

from tandem_enrollment.domain import (
    EnrollParticipant,
    Participant,
    ParticipantProfile,
    ParticipantStatus,
    Program,
    ProgramStatus,
    ProgramTerms,
    Role,
    WithdrawalReason,
)
from tandem_enrollment.domain.commands import ENROLLMENT_EXAMPLE
from tandem_enrollment.domain.values import ValueObject

__all__ = [
    "EnrollmentChanged",
    "EnrollmentCreate",
    "ImportJobPublic",
    "ImportRowPublic",
    "ParticipantPage",
    "ParticipantPublic",
    "ProgramChanged",
    "ProgramCounts",
    "ProgramPage",
    "ProgramPublic",
]


class _EnrollmentBody(ValueObject):
    model_config = ConfigDict(json_schema_extra={"examples": [ENROLLMENT_EXAMPLE]})


EnrollmentCreate: type[ValueObject] = create_model(  # type: ignore[call-overload]
    "EnrollmentCreate",
    __base__=_EnrollmentBody,
    __doc__="Enroll an employee in the program of the URL (see `EnrollParticipant`).",
    **{
        name: (field.annotation, field)
        for name, field in EnrollParticipant.model_fields.items()
        if name != "program_id"
    },
)


def enroll_command(program_id: UUID, body: ValueObject) -> EnrollParticipant:
    """The domain command for an `EnrollmentCreate` body sent to program `program_id`."""
    return EnrollParticipant.model_validate({**dict(body), "program_id": program_id})


_VETTED = (
    "HR approved them (an auto-approving program approves everyone): waiting for a place is not being approved. "
    "A waitlisted participant who is vetted takes a place that frees; one who is not still needs HR's approval."
)


class ProgramChanged(BaseModel):
    """What a program command left behind."""

    program_id: UUID
    status: ProgramStatus
    version: int

    @classmethod
    def of(cls, outcome: CommandResult[Program]) -> ProgramChanged:
        assert outcome.state is not None
        return cls(program_id=outcome.state.program_id, status=outcome.state.status, version=outcome.version)


class EnrollmentChanged(BaseModel):
    """What an enrollment command left behind: `status` tells whether they got a place."""

    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role
    status: ParticipantStatus
    vetted: bool = Field(
        description="HR approved them: a waitlisted participant who is vetted takes a place that frees."
    )
    erased: bool
    version: int

    @classmethod
    def of(cls, outcome: CommandResult[Participant]) -> EnrollmentChanged:
        state = outcome.state
        assert state is not None
        return cls(
            **state.identity(), status=state.status, vetted=state.vetted, erased=state.erased, version=outcome.version
        )


class ProgramCounts(BaseModel):
    """Participants by status; `juniors` and `seniors` count those who have not withdrawn."""

    applied: int
    approved: int
    waitlisted: int
    withdrawn: int
    juniors: int
    seniors: int


class ProgramPublic(ProgramTerms):
    """A program as the read model knows it."""

    program_id: UUID
    status: ProgramStatus
    participants: ProgramCounts
    created_at: datetime
    updated_at: datetime
    version: int


class ParticipantPublic(ParticipantProfile):
    """An enrollment as the read model knows it. After erasure the personal fields are `null`."""

    participant_id: UUID
    program_id: UUID
    employee_id: str
    role: Role
    status: ParticipantStatus
    withdrawal_reason: WithdrawalReason | None = None
    erased: bool
    vetted: bool = Field(
        description="HR approved them (or the program approves everyone): waiting is not being approved."
    )
    enrolled_at: datetime
    updated_at: datetime
    version: int


class ProgramPage(BaseModel):
    items: list[ProgramPublic]
    next_cursor: str | None


class ParticipantPage(BaseModel):
    items: list[ParticipantPublic]
    next_cursor: str | None


class ImportRowPublic(BaseModel):
    """A row that was not enrolled: its number in the file (the CSV header is row 1) and why."""

    row: int
    outcome: str
    employee_id: str | None
    errors: list[dict[str, Any]]


class ImportJobPublic(BaseModel):
    """An import's progress and its report (up to `report_limit` rows after `report_after_row`).

    `status` completed: every row was handled; `readable`: and every row it enrolled is listed by
    `GET /programs/{id}/participants` (the read model follows the writes a moment later).
    """

    job_id: UUID
    program_id: UUID
    file_name: str | None
    file_format: str
    status: str
    total: int | None
    processed: int
    enrolled: int
    duplicates: int
    rejected: int
    error: str | None
    requested_by: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    readable: bool
    report: list[ImportRowPublic]


class ImportMentionPublic(BaseModel):
    """An import report row that names the employee: a row of a file that was not enrolled, and why."""

    job_id: UUID
    program_id: UUID
    row: int
    outcome: str
    errors: list[dict[str, Any]]
    created_at: datetime


class EnrollmentOfPerson(ParticipantPublic):
    """One of the person's enrollments, with the program's name."""

    program_name: str | None


class PersonPublic(BaseModel):
    """Everything enrollment holds about one person, in every program (the right of access)."""

    employee_id: str
    enrollments: list[EnrollmentOfPerson]
    import_reports: list[ImportMentionPublic]


class PersonErased(BaseModel):
    """The person's enrollments after their erasure: each withdrawn, personal data unreadable."""

    employee_id: str
    enrollments: list[EnrollmentChanged]
