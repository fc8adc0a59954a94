"""How sessions reacts to enrollment and pairing.

Enrollment:
- ProgramCreated / ProgramObjectivesChanged → the program's cadence, session length, dates and
  objective titles; ProgramClosed → marked closed (pairing ends its pairs, which closes schedules);
- ParticipantEnrolled → their profile (time zone, country, availability, languages, wants); their
  pairs waiting for it are planned;
- ParticipantProfileUpdated → the profile; a change of availability, time zone or country re-plans
  their active pairs;
- ParticipantWithdrew / ParticipantErased → their pairs' schedules close (future sessions
  cancelled); an erasure forgets the profile, shreds the key of the notes they wrote (and deletes
  them) and revokes their calendar URL.

Pairing: PairActivated → the pair is queued for planning, which the planning job does in batches
(a round activates thousands of pairs at once; see `activations`); PairEnded → its schedule closes;
PairBecameInfeasible → the pair needs attention.

Each handler runs in the consumer's transaction (the kernel records the event as handled in it), and
so do the schedule events it appends: a redelivered message changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from tandem_kernel.commands import execute
from tandem_kernel.consumers import BatchHandler, EventHandler, Subscription
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.jobs import jobs_channel
from tandem_kernel.privacy import shred
from tandem_kernel.store import EventStore

from tandem_sessions.adapters import directory
from tandem_sessions.adapters.directory import PLANNING_FIELDS, PROFILE_FIELDS
from tandem_sessions.application import activations, feeds, notes, planner
from tandem_sessions.application.streams import SCHEDULES
from tandem_sessions.consumed import enrollment, pairing
from tandem_sessions.domain.events import AttentionReason
from tandem_sessions.domain.schedule import PairRef, PairSchedule, decide_attention, decide_close

__all__ = ["ACTOR", "enrollment_subscription", "pairing_subscription"]

ACTOR = "sessions"


def enrollment_subscription(store: EventStore) -> Subscription:
    """The consumer of the enrollment topic: programs and people."""
    handlers = enrollment_handlers(store)

    async def record_enrollments(envelopes: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
        """A run of enrollments — most of what a busy program sends — in two statements, not two
        each: the profiles in one, and one look for an active pair among these people. Someone in an
        active pair (enrolling again) has pairs to re-plan, which appends events, and someone twice
        in the run must be recorded in order: then each enrollment goes through its own handler."""
        enrolled = [e.payload for e in envelopes if isinstance(e.payload, enrollment.ParticipantEnrolled)]
        people = [event.participant_id for event in enrolled]
        if len(set(people)) < len(people) or await directory.any_active_pair(connection, people):
            for envelope in envelopes:
                await handlers[type(envelope.payload)](envelope, connection)
            return
        await directory.record_people(
            connection, [(e.participant_id, e.program_id, e.employee_id, _profile(e)) for e in enrolled]
        )

    return Subscription(
        "sessions.enrollment",
        (enrollment.ENROLLMENT_TOPIC,),
        enrollment.enrollment_registry(),
        handlers,
        ignored_types=enrollment.ENROLLMENT_IGNORED_TYPES,
        batch_handler=BatchHandler(frozenset({enrollment.ParticipantEnrolled}), record_enrollments),
    )


def _profile(event: enrollment.ParticipantEnrolled) -> dict[str, Any]:
    return event.model_dump(mode="json", include=set(PROFILE_FIELDS))


def pairing_subscription(store: EventStore) -> Subscription:
    """The consumer of the pairing topic: active and ended pairs."""
    return Subscription(
        "sessions.pairs",
        (pairing.PAIRING_TOPIC,),
        pairing.pairing_registry(),
        pairing_handlers(store),
        ignored_types=pairing.PAIRING_IGNORED_TYPES,
    )


async def _decide(
    store: EventStore,
    envelope: EventEnvelope,
    connection: asyncpg.Connection,
    pair_id: UUID,
    decide: Callable[[PairSchedule | None], Sequence[DomainEvent]],
) -> None:
    await execute(
        store,
        SCHEDULES,
        pair_id,
        decide,
        occurred_at=envelope.occurred_at,
        metadata=envelope.caused(actor=ACTOR),
        connection=connection,
    )


async def close_schedule(
    store: EventStore, envelope: EventEnvelope, connection: asyncpg.Connection, pair: PairRef
) -> None:
    """The pair is over: its future sessions are cancelled and nothing more is planned."""
    await directory.set_pair_status(connection, pair.pair_id, "ended")
    now = envelope.occurred_at
    await _decide(store, envelope, connection, pair.pair_id, lambda state: decide_close(state, pair, now=now))


async def _replan_pairs_of(
    store: EventStore, envelope: EventEnvelope, connection: asyncpg.Connection, participant_id: UUID
) -> None:
    replanned = await planner.replan_pairs_of(
        store, participant_id, now=envelope.occurred_at, metadata=envelope.caused(actor=ACTOR), connection=connection
    )
    for pair_id in replanned:
        await activations.let_go(connection, pair_id)


def _objectives(objectives: Sequence[enrollment.Objective]) -> dict[str, str]:
    return {objective.code: objective.title for objective in objectives}


def enrollment_handlers(store: EventStore) -> dict[type[DomainEvent], EventHandler]:
    """One handler per enrollment event sessions reads."""

    async def program_created(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ProgramCreated)
        await directory.record_program(
            connection,
            event.program_id,
            cadence_days=event.session_cadence_days,
            session_minutes=event.session_minutes,
            start_date=event.start_date,
            end_date=event.end_date,
            objectives=_objectives(event.objectives),
        )

    async def objectives_changed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ProgramObjectivesChanged)
        await directory.set_objectives(connection, event.program_id, _objectives(event.objectives))

    async def program_closed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, enrollment.ProgramClosed)
        await directory.close_program(connection, envelope.payload.program_id)

    async def enrolled(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ParticipantEnrolled)
        await directory.record_person(
            connection, event.participant_id, event.program_id, event.employee_id, _profile(event)
        )
        await _replan_pairs_of(store, envelope, connection, event.participant_id)

    async def profile_updated(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ParticipantProfileUpdated)
        values = event.model_dump(mode="json")
        changes = {name: values[name] for name in event.changed_fields if name in PROFILE_FIELDS}
        if not changes:
            return
        await directory.update_profile(connection, event.participant_id, changes)
        if PLANNING_FIELDS & changes.keys():
            await _replan_pairs_of(store, envelope, connection, event.participant_id)

    async def left(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, enrollment.ParticipantWithdrew | enrollment.ParticipantErased)
        for pair in await directory.active_pairs_of(connection, event.participant_id):
            await close_schedule(store, envelope, connection, pair.ref)
        if isinstance(event, enrollment.ParticipantErased):
            await directory.erase_person(connection, event.participant_id)
            await shred(connection, notes.subject_of(event.participant_id))
            await notes.forget_author(connection, event.participant_id)
            await feeds.revoke(connection, event.participant_id)
        else:
            await directory.set_person_status(connection, event.participant_id, "withdrawn")

    return {
        enrollment.ProgramCreated: program_created,
        enrollment.ProgramObjectivesChanged: objectives_changed,
        enrollment.ProgramClosed: program_closed,
        enrollment.ParticipantEnrolled: enrolled,
        enrollment.ParticipantProfileUpdated: profile_updated,
        enrollment.ParticipantWithdrew: left,
        enrollment.ParticipantErased: left,
    }


def _ref(event: pairing.PairActivated | pairing.PairEnded | pairing.PairBecameInfeasible) -> PairRef:
    return PairRef(event.pair_id, event.program_id, event.junior_id, event.senior_id)


def pairing_handlers(store: EventStore) -> dict[type[DomainEvent], EventHandler]:
    """One handler per pairing event sessions reads."""

    async def activated(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, pairing.PairActivated)
        await directory.record_pair(connection, _ref(event), event.activated_at, event.rotation_due_at)
        await activations.queue(
            connection,
            event.pair_id,
            now=envelope.occurred_at,
            metadata=envelope.caused(actor=ACTOR),
            wake=jobs_channel(store.schema),
        )

    async def ended(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, pairing.PairEnded)
        await close_schedule(store, envelope, connection, _ref(event))

    async def infeasible(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, pairing.PairBecameInfeasible)
        pair, now = _ref(event), envelope.occurred_at
        await _decide(
            store,
            envelope,
            connection,
            event.pair_id,
            lambda state: decide_attention(state, pair, AttentionReason.PAIR_INFEASIBLE, now=now),
        )

    return {pairing.PairActivated: activated, pairing.PairEnded: ended, pairing.PairBecameInfeasible: infeasible}
