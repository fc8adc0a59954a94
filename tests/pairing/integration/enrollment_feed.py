"""Enrollment's real events, delivered to pairing's subscription as the broker would deliver them.

The events are built with enrollment's own models and published through the production path (the
kernel's `Publisher`: enrollment's own event store and the relay's wire format and headers), so a
field renamed there breaks these tests; they go through the kernel's `MessageProcessor` (inbox,
decoding with pairing's tolerant readers, the handler's transaction). Personal fields travel sealed
with a key pairing does not have, as the real store seals them.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID, uuid4

from tandem_enrollment.domain import events as enrollment
from tandem_enrollment.domain.participant import enrollment_id
from tandem_kernel.consumers import MessageProcessor, Outcome
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.published import Publisher

__all__ = ["PROFILE", "PROGRAM_TERMS", "REGISTRY", "EnrollmentFeed"]

REGISTRY = EventRegistry(enrollment.ENROLLMENT_EVENTS)

PROGRAM_TERMS: dict[str, Any] = {
    "name": "Pairing tests",
    "start_date": date(2026, 3, 1),
    "end_date": date(2026, 12, 15),
    "session_cadence_days": 14,
    "session_minutes": 45,
    "rotation_months": 3,
    "proposal_expiry_days": 7,
    "languages": ["en", "fr"],
}

PROFILE: dict[str, Any] = {
    "department": "Finance",
    "site": "Lyon",
    "country": "FR",
    "time_zone": "Europe/Paris",
    "job_level": 3,
    "years_in_company": 2.0,
    "languages": ["en"],
    "skills_offered": [],
    "skills_wanted": [],
    "objectives": [],
    "availability": [{"weekday": day, "start": time(9), "end": time(12)} for day in range(5)],
    "meeting_preference": "either",
}


class EnrollmentFeed:
    """Programs and participants, announced to pairing the way enrollment announces them."""

    def __init__(self, processor: MessageProcessor, producer: Publisher) -> None:
        self.processor = processor
        self.producer = producer
        self._employees = itertools.count(1)
        self.employees: dict[UUID, str] = {}  # who each participant is: they sign in as that employee
        self.offsets = itertools.count()

    async def deliver(self, event: DomainEvent, stream_id: str) -> str:
        [message] = await self.producer.publish(stream_id, [event])
        outcome = await self.processor.process(message)
        assert outcome in (Outcome.HANDLED, Outcome.IGNORED), outcome
        return outcome

    async def program(self, **terms: Any) -> UUID:
        program_id = uuid4()
        created = enrollment.ProgramCreated(program_id=program_id, **{**PROGRAM_TERMS, **terms})
        await self.deliver(created, f"program-{program_id}")
        await self.deliver(enrollment.ProgramOpened(program_id=program_id), f"program-{program_id}")
        return program_id

    async def close(self, program_id: UUID) -> None:
        await self.deliver(enrollment.ProgramClosed(program_id=program_id), f"program-{program_id}")

    async def participant(
        self, program_id: UUID, role: str, *, approved: bool = True, employee_id: str | None = None, **profile: Any
    ) -> UUID:
        """Enroll (and by default approve) someone with the default profile, overridden by `profile`."""
        employee_id = employee_id or f"E{next(self._employees):05}"
        participant_id = enrollment_id(program_id, employee_id)
        self.employees[participant_id] = employee_id
        identity: dict[str, Any] = {
            "participant_id": participant_id,
            "program_id": program_id,
            "employee_id": employee_id,
            "role": role,
        }
        enrolled = enrollment.ParticipantEnrolled(
            **identity,
            **{**PROFILE, **profile},
            display_name="A Person",
            email="person@example.com",
            enrolled_at=datetime.now(UTC),
        )
        await self.deliver(enrolled, f"participant-{participant_id}")
        if approved:
            await self.approve(program_id, participant_id, role, employee_id)
        return participant_id

    async def approve(self, program_id: UUID, participant_id: UUID, role: str, employee_id: str) -> None:
        identity: dict[str, Any] = {
            "participant_id": participant_id,
            "program_id": program_id,
            "employee_id": employee_id,
            "role": role,
        }
        await self.deliver(enrollment.ParticipantApproved(**identity, automatic=False), f"participant-{participant_id}")

    async def withdraw(self, program_id: UUID, participant_id: UUID, role: str, *, erase: bool = False) -> None:
        identity: dict[str, Any] = {
            "participant_id": participant_id,
            "program_id": program_id,
            "employee_id": "E00000",
            "role": role,
        }
        reason = "erasure" if erase else "workload"
        withdrew = enrollment.ParticipantWithdrew.model_validate(
            {**identity, "reason": reason, "previous_status": "approved"}
        )
        await self.deliver(withdrew, f"participant-{participant_id}")
        if erase:
            await self.deliver(enrollment.ParticipantErased(**identity), f"participant-{participant_id}")

    async def update(self, program_id: UUID, participant_id: UUID, role: str, **changes: Any) -> None:
        identity: dict[str, Any] = {
            "participant_id": participant_id,
            "program_id": program_id,
            "employee_id": "E00000",
            "role": role,
        }
        updated = enrollment.ParticipantProfileUpdated(**identity, changed_fields=tuple(changes), **changes)
        await self.deliver(updated, f"participant-{participant_id}")
