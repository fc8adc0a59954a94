"""How pairing reacts to enrollment: it keeps its own pool, and ends what a departure or a closure ends.

- ProgramCreated → the program's terms (session length, rotation period, proposal expiry);
- ParticipantEnrolled → stored with their profile (applied); ParticipantWaitlisted → waitlisted;
  ParticipantApproved → in the pool (approved); the statuses are enrollment's words;
- ParticipantProfileUpdated → the profile fields pairing matches on are updated, and an active pair
  the change makes infeasible is flagged (`PairBecameInfeasible`);
- ParticipantWithdrew / ParticipantErased → out of the pool (an erasure forgets the profile), their
  pending proposal withdrawn and their active pair ended (`participant_left`);
- ProgramClosed → no more rounds; pending proposals withdrawn, active pairs ended (`program_closed`).

Each handler runs in the consumer's transaction (the kernel records the event as handled in it), and
so do the pair events it appends: a redelivered message changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

import asyncpg
from tandem_kernel.commands import execute
from tandem_kernel.consumers import BatchHandler, EventHandler, Subscription
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.store import EventStore

from tandem_pairing.adapters import ledger
from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.application import compatibility
from tandem_pairing.application.streams import PAIRS
from tandem_pairing.consumed import (
    ENROLLMENT_IGNORED_TYPES,
    ENROLLMENT_TOPIC,
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    ProgramClosed,
    ProgramCreated,
    enrollment_registry,
)
from tandem_pairing.domain.pair import (
    Pair,
    PairStatus,
    decide_flag_infeasible,
    decide_participant_left,
    decide_program_closed,
)

__all__ = ["SUBSCRIPTION_NAME", "enrollment_handlers", "enrollment_subscription"]

SUBSCRIPTION_NAME = "pairing.pool"
ACTOR = "pairing"

PairDecision = Callable[[Pair | None], Sequence[DomainEvent]]


def enrollment_subscription(store: EventStore) -> Subscription:
    """The consumer of the enrollment topic that keeps pairing's pool."""
    return Subscription(
        SUBSCRIPTION_NAME,
        (ENROLLMENT_TOPIC,),
        enrollment_registry(),
        enrollment_handlers(store),
        ignored_types=ENROLLMENT_IGNORED_TYPES,
        batch_handler=BatchHandler(frozenset(_STATUS_OF) | {ParticipantEnrolled}, record_arrivals),
    )


# The pool status each of these events sets (the statuses are enrollment's words).
_STATUS_OF: dict[type[DomainEvent], str] = {ParticipantApproved: "approved", ParticipantWaitlisted: "waitlisted"}


async def record_arrivals(envelopes: Sequence[EventEnvelope], connection: asyncpg.Connection) -> None:
    """Enrollments, approvals and waitlistings in a row — most of what a busy program sends — in two
    statements instead of one each: the enrollments first, then the statuses, the last one for each
    participant. The same as one by one: an enrollment of someone already in the pool changes only
    their profile, and a participant's statuses follow their enrollment (one stream, in order)."""
    await pool_table.record_enrollments(
        connection, [envelope.payload for envelope in envelopes if isinstance(envelope.payload, ParticipantEnrolled)]
    )
    await pool_table.set_statuses(
        connection,
        [
            (envelope.payload.participant_id, _STATUS_OF[type(envelope.payload)])  # type: ignore[attr-defined]
            for envelope in envelopes
            if type(envelope.payload) in _STATUS_OF
        ],
    )


async def _decide_pairs(
    store: EventStore,
    envelope: EventEnvelope,
    connection: asyncpg.Connection,
    pair_ids: Sequence[UUID],
    decide: PairDecision,
) -> None:
    for pair_id in pair_ids:
        await execute(
            store,
            PAIRS,
            pair_id,
            decide,
            occurred_at=envelope.occurred_at,
            metadata=envelope.caused(actor=ACTOR),
            connection=connection,
        )


def enrollment_handlers(store: EventStore) -> dict[type[DomainEvent], EventHandler]:
    """One handler per enrollment event pairing reads; `store` appends the pair events they cause."""

    async def program_created(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, ProgramCreated)
        await pool_table.record_program(connection, envelope.payload)

    async def program_closed(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, ProgramClosed)
        await pool_table.lock_program(connection, event.program_id)
        await pool_table.close_program(connection, event.program_id)
        open_pairs = await ledger.open_pairs_in_program(connection, event.program_id)
        await _decide_pairs(
            store, envelope, connection, open_pairs, lambda pair: decide_program_closed(pair, now=envelope.occurred_at)
        )

    async def enrolled(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, ParticipantEnrolled)
        await pool_table.record_enrollment(connection, envelope.payload)

    async def approved(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, ParticipantApproved)
        await pool_table.set_status(connection, envelope.payload.participant_id, "approved")

    async def waitlisted(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        assert isinstance(envelope.payload, ParticipantWaitlisted)
        await pool_table.set_status(connection, envelope.payload.participant_id, "waitlisted")

    async def profile_updated(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, ParticipantProfileUpdated)
        values = event.model_dump(mode="json")
        changes = {name: values[name] for name in event.changed_fields if name in pool_table.PROFILE_FIELDS}
        if not changes:
            return
        await pool_table.update_profile(connection, event.participant_id, changes)
        # An active pair the change makes infeasible (a manager line, no shared language…) is flagged.
        for pair_id in await ledger.open_pairs_of(connection, event.participant_id):
            pair = (await PAIRS.load(store, pair_id)).state
            if pair is None or pair.status is not PairStatus.ACTIVE:
                continue
            broken = await compatibility.rules_broken_now(store, pair, now=envelope.occurred_at, executor=connection)
            await _decide_pairs(
                store,
                envelope,
                connection,
                [pair_id],
                lambda state, broken=broken: decide_flag_infeasible(state, broken, now=envelope.occurred_at),  # type: ignore[misc]
            )

    async def left(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, ParticipantWithdrew | ParticipantErased)
        # Taken before the status changes: a round writing its proposals now either sees the
        # departure, or has committed proposals that are found below and withdrawn.
        await pool_table.lock_program(connection, event.program_id)
        if isinstance(event, ParticipantErased):
            await pool_table.erase(connection, event.participant_id)
        else:
            await pool_table.set_status(connection, event.participant_id, "withdrawn")
        open_pairs = await ledger.open_pairs_of(connection, event.participant_id)
        await _decide_pairs(
            store,
            envelope,
            connection,
            open_pairs,
            lambda pair: decide_participant_left(pair, event.participant_id, now=envelope.occurred_at),
        )

    return {
        ProgramCreated: program_created,
        ProgramClosed: program_closed,
        ParticipantEnrolled: enrolled,
        ParticipantApproved: approved,
        ParticipantWaitlisted: waitlisted,
        ParticipantProfileUpdated: profile_updated,
        ParticipantWithdrew: left,
        ParticipantErased: left,
    }
