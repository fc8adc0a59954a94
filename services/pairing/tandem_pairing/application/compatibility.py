"""Why two people are (not) a good match: the score, its breakdown, and every hard rule they break.

    explanation = await compatibility.explain(store, program_id, junior_id, senior_id, now=now)

The pair is assessed under the program's current settings and this week's clock, as a round started
now would. Infeasible pairs are explained too: `violations` says which rules they break and
`forbidden_because` why a `forbidden_pair` is forbidden (HR, or previous partners).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tandem_kernel.errors import DomainError
from tandem_kernel.store import EventStore

from tandem_pairing.adapters import ledger
from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.application import program_settings
from tandem_pairing.domain import Compatibility, Role, assess
from tandem_pairing.domain.program_rules import effective_settings, monday_of, scoring_settings

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """A compatibility, and the facts around it a reader needs."""

    compatibility: Compatibility
    forbidden_because: tuple[str, ...]  # hr_forbidden, previous_partner
    junior_in_pool: bool
    senior_in_pool: bool


async def _profiled(store: EventStore, program_id: UUID, participant_id: UUID, role: Role) -> pool_table.PoolMember:
    member = await program_settings.participant(store, program_id, participant_id, role)
    if member.profile is None:
        raise DomainError(f"this {role}'s data was erased", field=f"{role}_id")
    return member


async def explain(
    store: EventStore, program_id: UUID, junior_id: UUID, senior_id: UUID, *, now: datetime
) -> Explanation:
    """Assess the pair; `NotFound` for an unknown program, `DomainError` for people not in it."""
    terms = await program_settings.program_terms(store, program_id)
    junior = await _profiled(store, program_id, junior_id, Role.JUNIOR)
    senior = await _profiled(store, program_id, senior_id, Role.SENIOR)
    rules = await program_settings.rules(store, program_id)
    reasons = []
    if (junior_id, senior_id) in rules.forbidden:
        reasons.append("hr_forbidden")
    if await ledger.were_partners(store.pool, program_id, junior_id, senior_id):
        reasons.append("previous_partner")
    settings = scoring_settings(effective_settings(rules.settings, terms), terms.session_minutes, monday_of(now))
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
    )
