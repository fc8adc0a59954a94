"""A program's pairing over HTTP: its pool, settings, pins, forbidden pairs, and why two people (do not) fit."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response
from tandem_kernel import access
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, StoreDep
from tandem_kernel.identity import Principal
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.adapters import read_queries
from tandem_pairing.application import compatibility, program_settings
from tandem_pairing.entrypoints.bodies import PairingSettingsBody, PairRule
from tandem_pairing.entrypoints.schemas import (
    CompatibilityPublic,
    FlaggedPairs,
    PoolPublic,
    ProposalPublic,
    SettingsPublic,
)

__all__ = ["programs_router"]

programs_router = APIRouter(prefix="/programs/{program_id}", tags=["program pairing"], route_class=StrictJSONRoute)

# HR only: a program\'s pool, its pairing settings, pins and forbidden pairs, explanations.
Hr = Annotated[Principal, access.allow(access.PROGRAM_ADMIN)]


@programs_router.get(
    "/pool", summary="The program's pool: participants pairing knows, by role and status", responses=problems(404)
)
async def get_pool(program_id: UUID, store: StoreDep, _: Hr) -> PoolPublic:
    """How many of the program's participants pairing knows, by role and status (enrollment's words); the approved are
    paired."""
    terms = await program_settings.program_terms(store, program_id)
    found = await pool_table.counts(store.pool, program_id)
    pool = {"program_id": program_id, "closed": terms.closed, "juniors": found["junior"], "seniors": found["senior"]}
    return PoolPublic.model_validate(pool)


@programs_router.get(
    "/pairing-settings", summary="The program's pairing settings, pins and forbidden pairs", responses=problems(404)
)
async def get_settings(program_id: UUID, store: StoreDep, _: Hr) -> SettingsPublic:
    """The settings HR set (`null`: the program's own term) and those in effect, the pins and the forbidden pairs."""
    terms = await program_settings.program_terms(store, program_id)
    return SettingsPublic.of(await program_settings.rules(store, program_id), terms)


@programs_router.put(
    "/pairing-settings",
    summary="Replace the program's pairing settings (used by the next round)",
    responses=problems(404, 409),
)
async def put_settings(
    program_id: UUID,
    body: PairingSettingsBody,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    _: Hr,
) -> SettingsPublic:
    """Replace the weights, capacities, site rule, proposal expiry and rotation period; the next round uses them."""
    rules = await program_settings.change(
        store, program_id, body.settings(), now=now, metadata=metadata, idempotency=idempotency
    )
    return SettingsPublic.of(rules, await program_settings.program_terms(store, program_id))


@programs_router.post(
    "/pins",
    status_code=201,
    summary="Pin a pair: proposed in the next round if it can be",
    responses=problems(404, 409),
)
async def pin(
    program_id: UUID,
    body: PairRule,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    _: Hr,
) -> SettingsPublic:
    """Pin a junior and a senior: the next round proposes them if they break no hard rule."""
    pair = (body.junior_id, body.senior_id)
    rules = await program_settings.pin(store, program_id, pair, now=now, metadata=metadata, idempotency=idempotency)
    return SettingsPublic.of(rules, await program_settings.program_terms(store, program_id))


@programs_router.delete(
    "/pins/{junior_id}/{senior_id}", status_code=204, summary="Remove a pin", responses=problems(404, 409)
)
async def unpin(
    program_id: UUID, junior_id: UUID, senior_id: UUID, store: StoreDep, metadata: MetadataDep, now: NowDep, _: Hr
) -> Response:
    """Remove a pin (404 if the pair is not pinned)."""
    await program_settings.unpin(store, program_id, (junior_id, senior_id), now=now, metadata=metadata)
    return Response(status_code=204)


@programs_router.post(
    "/forbidden-pairs", status_code=201, summary="Forbid a pair in the program", responses=problems(404, 409)
)
async def forbid(
    program_id: UUID,
    body: PairRule,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    _: Hr,
) -> SettingsPublic:
    """Forbid a junior and a senior as partners in the program, until allowed again."""
    pair = (body.junior_id, body.senior_id)
    rules = await program_settings.forbid(store, program_id, pair, now=now, metadata=metadata, idempotency=idempotency)
    return SettingsPublic.of(rules, await program_settings.program_terms(store, program_id))


@programs_router.delete(
    "/forbidden-pairs/{junior_id}/{senior_id}",
    status_code=204,
    summary="Allow a pair again",
    responses=problems(404, 409),
)
async def allow(
    program_id: UUID, junior_id: UUID, senior_id: UUID, store: StoreDep, metadata: MetadataDep, now: NowDep, _: Hr
) -> Response:
    """Lift a forbid (404 if the pair is not forbidden)."""
    await program_settings.allow(store, program_id, (junior_id, senior_id), now=now, metadata=metadata)
    return Response(status_code=204)


@programs_router.get(
    "/flagged-pairs",
    summary="Active pairs that break hard rules since a profile changed (a manager line, no shared language…)",
    responses=problems(404),
)
async def flagged_pairs(program_id: UUID, store: StoreDep, _: Hr) -> FlaggedPairs:
    """The program's active pairs that break hard rules since a profile changed, for the admin to act on."""
    await program_settings.program_terms(store, program_id)
    found = await read_queries.flagged_pairs(store.pool, program_id)
    return FlaggedPairs(program_id=program_id, items=[ProposalPublic.model_validate(row) for row in found])


@programs_router.get(
    "/candidates/{junior_id}/{senior_id}/compatibility",
    summary="Why these two are (not) a good match: score breakdown and broken rules",
    responses=problems(404),
)
async def get_compatibility(
    program_id: UUID, junior_id: UUID, senior_id: UUID, store: StoreDep, now: NowDep, _: Hr
) -> CompatibilityPublic:
    """The score, its breakdown and the hard rules the two break; a proposed pair is assessed against the rules it was
    proposed under (`basis`)."""
    explanation = await compatibility.explain(store, program_id, junior_id, senior_id, now=now)
    return CompatibilityPublic.of(program_id, explanation)
