"""Enrollment's, pairing's and sessions' events, delivered to evaluation's subscriptions as the broker would.

Each event is built with its producer's own model (enrollment's, pairing's, sessions'), and
published through the production path (the kernel's `Publisher`: the producer's own event store, the
relay's wire format and headers) and goes through the kernel's `MessageProcessor` (inbox, decoding
with evaluation's tolerant readers, the handler's transaction).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from tandem_enrollment.domain import events as enrollment
from tandem_enrollment.domain.participant import enrollment_id
from tandem_kernel.consumers import MessageProcessor, Outcome
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.messages import IncomingMessage
from tandem_kernel.published import Publisher
from tandem_pairing.domain import events as pairing
from tandem_sessions.domain import events as sessions

__all__ = ["PROGRAM_TERMS", "Feed", "Producers"]

PROGRAM_TERMS: dict[str, Any] = {
    "name": "Evaluation tests",
    "start_date": date(2026, 3, 1),
    "end_date": date(2026, 12, 15),
    "session_cadence_days": 14,
    "session_minutes": 45,
    "rotation_months": 3,
    "proposal_expiry_days": 7,
    "languages": ["en"],
    "objectives": [
        {"code": "ai", "title": "Use AI assistants", "theme": "ai"},
        {"code": "network", "title": "Post on the professional network", "theme": "social"},
    ],
}

PROFILE: dict[str, Any] = {
    "department": "Finance",
    "site": "Lyon",
    "country": "FR",
    "time_zone": "Europe/Paris",
    "job_level": 3,
    "years_in_company": 2.0,
    "languages": ["en"],
}


class Producers:
    """The three producers' stores and relay paths, in the test's database."""

    def __init__(self, enrollment_: Publisher, pairing_: Publisher, sessions_: Publisher) -> None:
        self.by_prefix = {"enrollment": enrollment_, "pairing": pairing_, "sessions": sessions_}

    @classmethod
    async def start(cls, dsn: str) -> Producers:
        return cls(
            await Publisher.start(dsn, "enrollment", EventRegistry(enrollment.ENROLLMENT_EVENTS)),
            await Publisher.start(dsn, "pairing", EventRegistry(pairing.PAIRING_EVENTS)),
            await Publisher.start(dsn, "sessions", EventRegistry(sessions.SESSIONS_EVENTS)),
        )

    async def close(self) -> None:
        for publisher in self.by_prefix.values():
            await publisher.close()

    async def publish(self, event: DomainEvent, stream_id: str) -> list[IncomingMessage]:
        producer = self.by_prefix[event.event_type.split(".")[0]]
        return await producer.publish(stream_id, [event])


class Feed:
    """Programs, people, pairs and sessions, announced to evaluation the way their services announce them.

    With `processors`, each message is handed to the consumer at once (as the broker would); without,
    `sent` collects them (to send over the real broker).
    """

    def __init__(self, producers: Producers, processors: dict[str, MessageProcessor] | None = None) -> None:
        self.producers = producers
        self.processors = processors
        self.sent: list[IncomingMessage] = []
        self._employees = itertools.count(1)
        self.employees: dict[UUID, str] = {}

    async def deliver(self, event: DomainEvent, stream_id: str) -> None:
        messages = await self.producers.publish(event, stream_id)
        if self.processors is None:
            self.sent += messages
            return
        for message in messages:
            outcome = await self.processors[message.topic].process(message)
            assert outcome in (Outcome.HANDLED, Outcome.IGNORED), outcome

    async def program(self, **terms: Any) -> UUID:
        program_id = uuid4()
        await self.deliver(
            enrollment.ProgramCreated(program_id=program_id, **{**PROGRAM_TERMS, **terms}), f"program-{program_id}"
        )
        await self.deliver(enrollment.ProgramOpened(program_id=program_id), f"program-{program_id}")
        return program_id

    async def close(self, program_id: UUID) -> None:
        await self.deliver(enrollment.ProgramClosed(program_id=program_id), f"program-{program_id}")

    def identity(self, program_id: UUID, participant_id: UUID, role: str) -> dict[str, Any]:
        employee_id = self.employees[participant_id]
        return {"participant_id": participant_id, "program_id": program_id, "employee_id": employee_id, "role": role}

    async def participant(
        self,
        program_id: UUID,
        role: str,
        *,
        wants: tuple[str, ...] = ("ai_tools", "social_networks"),
        objectives: tuple[str, ...] = ("ai",),
        waitlisted: bool = False,
        employee_id: str | None = None,
    ) -> UUID:
        employee_id = employee_id or f"EV{next(self._employees):05}"
        participant_id = enrollment_id(program_id, employee_id)
        self.employees[participant_id] = employee_id
        identity = self.identity(program_id, participant_id, role)
        enrolled = enrollment.ParticipantEnrolled.model_validate(
            {
                **identity,
                **PROFILE,
                "skills_wanted": [{"skill": skill, "level": 1} for skill in wants],
                "objectives": list(objectives),
                "display_name": "A Person",
                "email": "person@example.com",
                "enrolled_at": datetime.now(UTC),
            }
        )
        await self.deliver(enrolled, f"participant-{participant_id}")
        if waitlisted:
            event: DomainEvent = enrollment.ParticipantWaitlisted(**identity, enrolled_at=datetime.now(UTC))
        else:
            event = enrollment.ParticipantApproved(**identity, automatic=True)
        await self.deliver(event, f"participant-{participant_id}")
        return participant_id

    async def erase(self, program_id: UUID, participant_id: UUID, role: str) -> None:
        await self.deliver(
            enrollment.ParticipantErased(**self.identity(program_id, participant_id, role)),
            f"participant-{participant_id}",
        )

    async def pair(self, program_id: UUID, junior_id: UUID, senior_id: UUID, *, activated_at: datetime) -> UUID:
        pair_id = uuid4()
        activated = pairing.PairActivated(
            pair_id=pair_id,
            program_id=program_id,
            junior_id=junior_id,
            senior_id=senior_id,
            activated_at=activated_at,
            rotation_due_at=activated_at + timedelta(days=90),
        )
        await self.deliver(activated, f"pair-{pair_id}")
        return pair_id

    async def end_pair(
        self, program_id: UUID, pair_id: UUID, junior_id: UUID, senior_id: UUID, *, at: datetime
    ) -> None:
        ended = pairing.PairEnded(
            pair_id=pair_id,
            program_id=program_id,
            junior_id=junior_id,
            senior_id=senior_id,
            reason=pairing.EndReason.ROTATED,
            ended_at=at,
        )
        await self.deliver(ended, f"pair-{pair_id}")

    async def session_held(
        self, program_id: UUID, pair_id: UUID, junior_id: UUID, senior_id: UUID, *, held_at: datetime
    ) -> UUID:
        session_id = uuid4()
        ids = {
            "session_id": session_id,
            "pair_id": pair_id,
            "program_id": program_id,
            "junior_id": junior_id,
            "senior_id": senior_id,
        }
        scheduled = sessions.SessionScheduled(**ids, starts_at=held_at, duration_minutes=45, sequence=1, extra=False)
        await self.deliver(scheduled, f"session-{session_id}")
        await self.deliver(sessions.SessionHeld(**ids, held_at=held_at, duration_minutes=50), f"session-{session_id}")
        return session_id
