"""Why two people are (not) a good match: the score, its breakdown, and every hard rule they break.

    explanation = await compatibility.explain(store, program_id, junior_id, senior_id, now=now)
    broken = await compatibility.rules_broken_now(store, pair, now=now)    # before an acceptance

Two people never proposed to each other are assessed as a round started now would: the program's
current settings, HR's forbidden pairs and their previous partners, this week's clock. Two people a
round proposed to each other are explained *as proposed*: under the round's settings and week,
HR's forbidden pairs as they stood when the proposal was made, and their partnerships before it
(the proposal itself is not a "previous partner"); the answer's `basis` says which. Profiles are
always as they are now: pairing keeps no history of them. Infeasible pairs are explained too:
`violations` says which rules they break and `forbidden_because` why a `forbidden_pair` is forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from tandem_kernel.errors import DomainError
from tandem_kernel.store import EventStore

from tandem_pairing.adapters import ledger
from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.application import program_settings
from tandem_pairing.application.streams import PAIRS, ROUNDS, SETTINGS
from tandem_pairing.domain import Compatibility, PairingSettings, Role, assess
from tandem_pairing.domain.pair import Pair
from tandem_pairing.domain.program_rules import ProgramRules, effective_settings, monday_of, scoring_settings

__all__ = ["Basis", "Explanation", "explain", "rules_broken_now"]


@dataclass(frozen=True, slots=True)
class Basis:
    """What a pair was assessed against: the next round's rules, or those its proposal was made under."""

    kind: Literal["next_round", "proposal"]
    as_of: datetime
    pair_id: UUID | None = None
    round_id: UUID | None = None
    pair_status: str | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    """A compatibility, and the facts around it a reader needs."""

    compatibility: Compatibility
    forbidden_because: tuple[str, ...]  # hr_forbidden, previous_partner
    junior_in_pool: bool
    senior_in_pool: bool
    basis: Basis


async def _profiled(store: EventStore, program_id: UUID, participant_id: UUID, role: Role) -> pool_table.PoolMember:
    member = await program_settings.participant(store, program_id, participant_id, role)
    if member.profile is None:
        raise DomainError(f"this {role}'s data was erased", field=f"{role}_id")
    return member


async def _proposals(store: EventStore, program_id: UUID, junior_id: UUID, senior_id: UUID) -> list[Pair]:
    """Every proposal between the two in the program, oldest first."""
    pair_ids = await ledger.pairs_between(store.pool, program_id, junior_id, senior_id)
    pairs = [(await PAIRS.load(store, pair_id)).state for pair_id in pair_ids]
    return sorted((pair for pair in pairs if pair is not None), key=lambda pair: pair.proposed_at)


async def _rules_as_of(store: EventStore, program_id: UUID, moment: datetime) -> ProgramRules:
    envelopes = await store.read_stream(SETTINGS.stream_id(program_id))
    before = [envelope.payload for envelope in envelopes if envelope.occurred_at <= moment]
    return SETTINGS.replay(before, None) or ProgramRules(program_id)


async def explain(
    store: EventStore, program_id: UUID, junior_id: UUID, senior_id: UUID, *, now: datetime
) -> Explanation:
    """Assess the pair; `NotFound` for an unknown program, `DomainError` for people not in it."""
    terms = await program_settings.program_terms(store, program_id)
    junior = await _profiled(store, program_id, junior_id, Role.JUNIOR)
    senior = await _profiled(store, program_id, senior_id, Role.SENIOR)
    proposals = await _proposals(store, program_id, junior_id, senior_id)
    settings: PairingSettings
    if proposals:
        proposal = proposals[-1]
        round_ = (await ROUNDS.load(store, proposal.round_id)).state
        assert round_ is not None, "a proposal's round exists"
        rules = await _rules_as_of(store, program_id, proposal.proposed_at)
        settings = scoring_settings(round_.settings, round_.session_minutes, round_.reference_week)
        partners_before = len(proposals) > 1
        basis = Basis("proposal", proposal.proposed_at, proposal.pair_id, proposal.round_id, proposal.status.value)
    else:
        rules = await program_settings.rules(store, program_id)
        settings = scoring_settings(effective_settings(rules.settings, terms), terms.session_minutes, monday_of(now))
        partners_before = False
        basis = Basis("next_round", now)
    reasons = [
        reason
        for reason, applies in (
            ("hr_forbidden", (junior_id, senior_id) in rules.forbidden),
            ("previous_partner", partners_before),
        )
        if applies
    ]
    fit = assess(
        pool_table.candidate_from_profile(junior, 1),
        pool_table.candidate_from_profile(senior, 1),
        settings,
        forbidden={(junior_id, senior_id)} if reasons else frozenset(),
    )
    return Explanation(
        compatibility=fit,
        forbidden_because=tuple(reasons),
        junior_in_pool=junior.status == "approved",
        senior_in_pool=senior.status == "approved",
        basis=basis,
    )


async def rules_broken_now(
    store: EventStore, pair: Pair, *, now: datetime, executor: pool_table.Executor | None = None
) -> tuple[str, ...]:
    """The hard rules `pair` breaks with its people's profiles and HR's forbidden pairs as they are now.

    Nothing when a profile is gone (erased: the pair ends for that). `executor` reads the pool in a
    transaction that changed it (a profile update being handled).
    """
    junior = await pool_table.load_member(executor or store.pool, pair.junior_id)
    senior = await pool_table.load_member(executor or store.pool, pair.senior_id)
    if junior is None or senior is None or junior.profile is None or senior.profile is None:
        return ()
    terms = await program_settings.program_terms(store, pair.program_id)
    rules = await program_settings.rules(store, pair.program_id)
    settings = scoring_settings(effective_settings(rules.settings, terms), terms.session_minutes, monday_of(now))
    fit = assess(
        pool_table.candidate_from_profile(junior, 1),
        pool_table.candidate_from_profile(senior, 1),
        settings,
        forbidden=rules.forbidden,
    )
    return tuple(violation.value for violation in fit.violations)
