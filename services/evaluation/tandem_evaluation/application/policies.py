"""How evaluation reacts to the other services: it keeps its own facts, and asks for what falls due.

enrollment
- ProgramCreated / ProgramObjectivesChanged → the program's dates and objectives;
- ParticipantEnrolled → who they are, the skills they want, their objectives; Approved / Waitlisted /
  Withdrew → their status (a waitlisted person is asked for a baseline once the program started);
- ParticipantProfileUpdated → skills wanted and objectives, when they changed;
- ParticipantErased → their sealed free text shredded (their numbers stay, anonymous);
- ProgramStarted → the waitlisted are asked for their baseline; ProgramClosed → everyone evaluated is
  asked for their end assessment (and the survey).

pairing
- PairActivated → both are asked for their baseline; PairEnded → for their end assessment;
- PairingRoundCompleted → those left unmatched become the comparison group, asked for a baseline.

sessions
- SessionScheduled / Cancelled / Missed → the session's status (sessions held vs planned);
- SessionHeld → both are asked for feedback on it, and, after their first, whether the pair fits
  (both are pending in their evaluation view until answered).

Each handler runs in the consumer's transaction, and so do the requests it appends. Events of
different topics arrive in any order (a pair's activation before its people's enrollment, say): a
handler asks only what it can, and the scheduler's next pass asks for the rest, since it looks at the
facts as they are by then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

import asyncpg
from tandem_kernel.consumers import BatchHandler, EventHandler, Subscription
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.store import EventStore

from tandem_evaluation.adapters import facts, notes
from tandem_evaluation.application.requests import request_due
from tandem_evaluation.consumed import enrollment, pairing, sessions
from tandem_evaluation.domain.facts import ParticipantFacts

__all__ = [
    "enrollment_subscription",
    "pairing_subscription",
    "sessions_subscription",
]

ACTOR = "evaluation"

Handler = Callable[[EventEnvelope, asyncpg.Connection], Awaitable[None]]


async def _ask(store: EventStore, envelope: EventEnvelope, connection: asyncpg.Connection, ids: list[UUID]) -> None:
    for participant_id in ids:
        await _ask_one(store, envelope, connection, await facts.load_participant(connection, participant_id))


async def _ask_one(
    store: EventStore, envelope: EventEnvelope, connection: asyncpg.Connection, participant: ParticipantFacts | None
) -> None:
    if participant is not None:
        await request_due(
            store, participant, now=envelope.occurred_at, metadata=envelope.caused(actor=ACTOR), connection=connection
        )


async def _ask_program(
    store: EventStore, envelope: EventEnvelope, connection: asyncpg.Connection, program: UUID
) -> None:
    everyone = await facts.participants_of_program(connection, program)
    await _ask(store, envelope, connection, [participant.participant_id for participant in everyone])


def enrollment_subscription(store: EventStore) -> Subscription:
    async def program_created(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ProgramCreated)
        codes = [objective.code for objective in event.objectives]
        await facts.record_program(connection, event.program_id, event.start_date, event.end_date, codes)

    async def objectives_changed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ProgramObjectivesChanged)
        await facts.set_objectives(connection, event.program_id, [objective.code for objective in event.objectives])

    async def program_started(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, enrollment.ProgramStarted)
        await _ask_program(store, envelope, connection, envelope.payload.program_id)

    async def program_closed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, enrollment.ProgramClosed)
        await facts.close_program(connection, envelope.payload.program_id, envelope.occurred_at)
        await _ask_program(store, envelope, connection, envelope.payload.program_id)

    async def enrolled(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ParticipantEnrolled)
        await facts.record_participant(
            connection,
            event.participant_id,
            event.program_id,
            event.employee_id,
            event.role,
            [wanted.skill for wanted in event.skills_wanted],
            list(event.objectives),
        )

    def status(name: str) -> Handler:
        async def set_status(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
            event = envelope.payload
            assert isinstance(event, enrollment.ParticipantApproved | enrollment.ParticipantWaitlisted)
            await _ask_one(store, envelope, connection, await facts.set_status(connection, event.participant_id, name))

        return set_status

    async def withdrew(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, enrollment.ParticipantWithdrew)
        await facts.set_status(connection, envelope.payload.participant_id, "withdrawn")

    async def erased(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, enrollment.ParticipantErased)
        await facts.set_status(connection, envelope.payload.participant_id, "erased")
        await notes.erase(connection, envelope.payload.participant_id)

    async def profile_updated(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ParticipantProfileUpdated)
        skills = event.skills_wanted if "skills_wanted" in event.changed_fields else None
        objectives = event.objectives if "objectives" in event.changed_fields else None
        if skills is None and objectives is None:
            return
        await facts.update_wants(
            connection,
            event.participant_id,
            None if skills is None else [wanted.skill for wanted in skills],
            None if objectives is None else list(objectives),
        )

    handlers: dict[type[DomainEvent], EventHandler] = {
        enrollment.ProgramCreated: program_created,
        enrollment.ProgramObjectivesChanged: objectives_changed,
        enrollment.ProgramStarted: program_started,
        enrollment.ProgramClosed: program_closed,
        enrollment.ParticipantEnrolled: enrolled,
        enrollment.ParticipantApproved: status("approved"),
        enrollment.ParticipantWaitlisted: status("waitlisted"),
        enrollment.ParticipantWithdrew: withdrew,
        enrollment.ParticipantErased: erased,
        enrollment.ParticipantProfileUpdated: profile_updated,
    }

    async def arrivals(envelopes: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
        """Enrollments and approvals in a row — most of what a busy program sends — in three
        statements instead of one or two each: the enrollments, then the approvals (a participant's
        follow their enrollment: one stream, in order), after one look for anyone approved who has
        a timeline of assessments (in a pair, or left unmatched by a round: approved again). Such an
        approval may be due a request, which appends events: then the run goes one by one."""
        approved = [
            e.payload.participant_id for e in envelopes if isinstance(e.payload, enrollment.ParticipantApproved)
        ]
        if approved and await facts.any_timeline(connection, approved):
            for envelope in envelopes:
                await handlers[type(envelope.payload)](envelope, connection)
            return
        await facts.record_participants(
            connection,
            [
                (
                    e.participant_id,
                    e.program_id,
                    e.employee_id,
                    e.role,
                    [w.skill for w in e.skills_wanted],
                    list(e.objectives),
                )
                for e in (envelope.payload for envelope in envelopes)
                if isinstance(e, enrollment.ParticipantEnrolled)
            ],
        )
        await facts.set_statuses(connection, [(participant_id, "approved") for participant_id in approved])

    return Subscription(
        "evaluation.enrollment",
        (enrollment.ENROLLMENT_TOPIC,),
        enrollment.enrollment_registry(),
        handlers,
        ignored_types=enrollment.ENROLLMENT_IGNORED_TYPES,
        batch_handler=BatchHandler(
            frozenset({enrollment.ParticipantEnrolled, enrollment.ParticipantApproved}), arrivals
        ),
    )


def pairing_subscription(store: EventStore) -> Subscription:
    async def activated(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, pairing.PairActivated)
        await facts.record_pair_activated(
            connection,
            event.pair_id,
            event.program_id,
            event.junior_id,
            event.senior_id,
            event.activated_at,
            event.rotation_due_at,
        )
        await _ask(store, envelope, connection, [event.junior_id, event.senior_id])

    async def ended(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, pairing.PairEnded)
        await facts.record_pair_ended(connection, event.pair_id, event.ended_at)
        await _ask(store, envelope, connection, [event.junior_id, event.senior_id])

    async def round_completed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, pairing.PairingRoundCompleted)
        unmatched = [person.participant_id for person in event.unmatched]
        await facts.set_unmatched(connection, unmatched)
        await _ask(store, envelope, connection, unmatched)

    return Subscription(
        "evaluation.pairing",
        (pairing.PAIRING_TOPIC,),
        pairing.pairing_registry(),
        {pairing.PairActivated: activated, pairing.PairEnded: ended, pairing.PairingRoundCompleted: round_completed},
        ignored_types=pairing.PAIRING_IGNORED_TYPES,
    )


def sessions_subscription(store: EventStore) -> Subscription:
    def status(name: str) -> Handler:
        async def record(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
            event = envelope.payload
            assert isinstance(
                event,
                sessions.SessionScheduled | sessions.SessionCancelled | sessions.SessionHeld | sessions.SessionMissed,
            )
            held_at = event.held_at if isinstance(event, sessions.SessionHeld) else None
            await facts.record_session(
                connection,
                event.session_id,
                event.pair_id,
                event.program_id,
                event.junior_id,
                event.senior_id,
                name,
                held_at,
            )

        return record

    return Subscription(
        "evaluation.sessions",
        (sessions.SESSIONS_TOPIC,),
        sessions.sessions_registry(),
        {
            sessions.SessionScheduled: status("scheduled"),
            sessions.SessionCancelled: status("cancelled"),
            sessions.SessionHeld: status("held"),
            sessions.SessionMissed: status("missed"),
        },
        ignored_types=sessions.SESSIONS_IGNORED_TYPES,
    )
