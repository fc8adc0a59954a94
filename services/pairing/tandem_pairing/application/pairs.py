"""Commands on one proposal or pair: accept, decline, end; and the scheduler's remind and expire.

pair = await pairs.accept(store, pair_id, participant_id, now=now, metadata=metadata)
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tandem_kernel.commands import CommandResult, Idempotency, execute
from tandem_kernel.errors import NotFound
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_pairing.application import compatibility
from tandem_pairing.application.streams import PAIRS
from tandem_pairing.domain.events import DeclineReason, EndReason
from tandem_pairing.domain.pair import (
    Pair,
    decide_accept,
    decide_decline,
    decide_end,
    decide_expire,
    decide_remind,
)

__all__ = ["accept", "decline", "end", "expire", "load", "remind"]


def _pair(loaded: CommandResult[Pair]) -> Pair:
    if loaded.state is None:
        raise NotFound("no such proposal or pair")
    return loaded.state


async def load(store: EventStore, pair_id: UUID) -> Pair:
    """The pair as its stream stands; `NotFound` if there is none."""
    return _pair(await PAIRS.load(store, pair_id))


async def accept(
    store: EventStore,
    pair_id: UUID,
    participant_id: UUID,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Pair:
    """One side accepts; the second acceptance activates the pair. Both need the pair to break no hard
    rule with the profiles and HR's rules as they are now (`PairInfeasible` otherwise)."""
    broken = await compatibility.rules_broken_now(store, await load(store, pair_id), now=now)
    loaded = await execute(
        store,
        PAIRS,
        pair_id,
        lambda state: decide_accept(state, participant_id, now=now, violations=broken),
        occurred_at=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return _pair(loaded)


async def decline(
    store: EventStore,
    pair_id: UUID,
    participant_id: UUID,
    reason: DeclineReason,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Pair:
    """One side declines: the proposal is over, both can be paired again in an incremental round."""
    loaded = await execute(
        store,
        PAIRS,
        pair_id,
        lambda state: decide_decline(state, participant_id, reason, now=now),
        occurred_at=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return _pair(loaded)


async def end(
    store: EventStore,
    pair_id: UUID,
    reason: EndReason,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Pair:
    """End an active pair early (or for any reason); both are free for the next incremental round."""
    loaded = await execute(
        store,
        PAIRS,
        pair_id,
        lambda state: decide_end(state, reason, now=now),
        occurred_at=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return _pair(loaded)


async def remind(store: EventStore, pair_id: UUID, *, now: datetime, metadata: EventMetadata) -> bool:
    """Record that a reminder is due, if it is; returns whether one was."""
    loaded = await execute(
        store, PAIRS, pair_id, lambda state: decide_remind(state, now=now), occurred_at=now, metadata=metadata
    )
    return bool(loaded.events)


async def expire(store: EventStore, pair_id: UUID, *, now: datetime, metadata: EventMetadata) -> bool:
    """Expire the proposal, if it is due; returns whether it expired."""
    loaded = await execute(
        store, PAIRS, pair_id, lambda state: decide_expire(state, now=now), occurred_at=now, metadata=metadata
    )
    return bool(loaded.events)
