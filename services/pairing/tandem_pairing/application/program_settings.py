"""A program's pairing settings, pins and forbidden pairs: commands on its settings stream.

>>> rules = await program_settings.pin(store, program_id, (junior_id, senior_id), now=now, metadata=metadata)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from tandem_kernel.commands import Idempotency, execute
from tandem_kernel.errors import DomainError, NotFound
from tandem_kernel.events import DomainEvent, EventMetadata
from tandem_kernel.store import EventStore

from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.adapters.pool import PoolMember
from tandem_pairing.application.streams import SETTINGS
from tandem_pairing.domain import PairKey, Role
from tandem_pairing.domain.events import ProgramPairingSettings
from tandem_pairing.domain.program_rules import (
    ProgramRules,
    ProgramTerms,
    decide_allow,
    decide_change_settings,
    decide_forbid,
    decide_pin,
    decide_unpin,
)

__all__ = ["allow", "change", "forbid", "participant", "pin", "program_terms", "rules", "unpin"]

PairDecision = Callable[[ProgramRules | None, UUID, UUID, UUID], list[DomainEvent]]


async def program_terms(store: EventStore, program_id: UUID) -> ProgramTerms:
    """The program as enrollment announced it; `NotFound` if pairing has not heard of it."""
    terms = await pool_table.load_terms(store.pool, program_id)
    if terms is None:
        raise NotFound("no such program")
    return terms


async def rules(store: EventStore, program_id: UUID) -> ProgramRules:
    """The program's settings, pins and forbidden pairs (the defaults if HR set nothing)."""
    return (await SETTINGS.load(store, program_id)).state or ProgramRules(program_id)


async def change(
    store: EventStore,
    program_id: UUID,
    settings: ProgramPairingSettings,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> ProgramRules:
    """Replace the program's pairing settings."""
    await program_terms(store, program_id)
    loaded = await execute(
        store,
        SETTINGS,
        program_id,
        lambda state: decide_change_settings(state, program_id, settings),
        occurred_at=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return loaded.state or ProgramRules(program_id)


async def participant(store: EventStore, program_id: UUID, participant_id: UUID, role: Role) -> PoolMember:
    """A participant of the program on the given side; `DomainError` on `<role>_id` otherwise."""
    member = await pool_table.load_member(store.pool, participant_id)
    if member is None or member.program_id != program_id or member.role is not role:
        raise DomainError(f"not a {role} of this program", field=f"{role}_id")
    return member


async def _pair_rule(
    store: EventStore,
    operation: str,
    decide: PairDecision,
    program_id: UUID,
    pair: PairKey,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None,
) -> ProgramRules:
    junior_id, senior_id = pair
    await program_terms(store, program_id)
    if operation in ("pin", "forbid"):  # removing a rule needs no live participants
        await participant(store, program_id, junior_id, Role.JUNIOR)
        await participant(store, program_id, senior_id, Role.SENIOR)
    loaded = await execute(
        store,
        SETTINGS,
        program_id,
        lambda state: decide(state, program_id, junior_id, senior_id),
        occurred_at=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return loaded.state or ProgramRules(program_id)


async def pin(
    store: EventStore,
    program_id: UUID,
    pair: PairKey,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> ProgramRules:
    """Pin `pair` = (junior, senior) in `program_id`: paired in the next round if it breaks no hard rule."""
    return await _pair_rule(
        store, "pin", decide_pin, program_id, pair, now=now, metadata=metadata, idempotency=idempotency
    )


async def unpin(
    store: EventStore,
    program_id: UUID,
    pair: PairKey,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> ProgramRules:
    """Remove a pin; `NotFound` if the pair is not pinned."""
    return await _pair_rule(
        store, "unpin", decide_unpin, program_id, pair, now=now, metadata=metadata, idempotency=idempotency
    )


async def forbid(
    store: EventStore,
    program_id: UUID,
    pair: PairKey,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> ProgramRules:
    """Forbid `pair` = (junior, senior) in `program_id` for good in the program (until allowed again)."""
    return await _pair_rule(
        store, "forbid", decide_forbid, program_id, pair, now=now, metadata=metadata, idempotency=idempotency
    )


async def allow(
    store: EventStore,
    program_id: UUID,
    pair: PairKey,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> ProgramRules:
    """Lift a forbid; `NotFound` if the pair is not forbidden."""
    return await _pair_rule(
        store, "allow", decide_allow, program_id, pair, now=now, metadata=metadata, idempotency=idempotency
    )
