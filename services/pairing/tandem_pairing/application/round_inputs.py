"""What a round pairs: the program's pool, who has room for a partner, and who must not be paired.

- the pool: every approved participant, each with the room left under the program's capacities
  (a participant whose open proposals and pairs fill their capacity is not in the round: that is
  how an incremental round leaves active pairs alone);
- forbidden: HR's forbidden pairs and everyone ever proposed to each other in the program
  (previous partners, declined and expired proposals alike);
- pins: HR's pins not yet proposed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from tandem_kernel.store import EventStore

from tandem_pairing.adapters import ledger
from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.application import program_settings
from tandem_pairing.domain import Candidate, PairingSettings, PairKey, Role
from tandem_pairing.domain.pairing_round import PairingRound
from tandem_pairing.domain.program_rules import scoring_settings

__all__ = ["RoundInputs", "gather_inputs"]

log = logging.getLogger("tandem.pairing.rounds")


@dataclass(frozen=True, slots=True)
class RoundInputs:
    """Everything `match_round` needs, read from pairing's tables and streams."""

    candidates: dict[UUID, Candidate]
    scoring: PairingSettings
    forbidden: frozenset[PairKey]
    pins: frozenset[PairKey]


async def gather_inputs(store: EventStore, round_: PairingRound) -> RoundInputs:
    """Read the round's inputs as they stand now, under the settings the round started with."""
    rules = await program_settings.rules(store, round_.program_id)
    members = await pool_table.load_approved(store.pool, round_.program_id)
    load = await ledger.open_load(store.pool, round_.program_id)
    history = await ledger.partners(store.pool, round_.program_id)
    capacity = {Role.JUNIOR: round_.settings.junior_capacity, Role.SENIOR: round_.settings.senior_capacity}
    # Building 40,000 candidates takes a second of CPU: not on the event loop.
    candidates = await asyncio.to_thread(_candidates, members, capacity, load)
    return RoundInputs(
        candidates=candidates,
        scoring=scoring_settings(round_.settings, round_.session_minutes, round_.reference_week),
        forbidden=frozenset(rules.forbidden | history),
        pins=frozenset(rules.pins - history),
    )


def _candidates(
    members: Sequence[pool_table.PoolMember], capacity: dict[Role, int], load: Counter[UUID]
) -> dict[UUID, Candidate]:
    candidates: dict[UUID, Candidate] = {}
    for member in members:
        room = capacity[member.role] - load[member.participant_id]
        if room <= 0:
            continue
        try:
            candidates[member.participant_id] = pool_table.candidate_from_profile(member, room)
        except (ValueError, KeyError, TypeError) as unusable:  # one bad profile must not stop a round
            log.warning("participant %s left out of the round: %s", member.participant_id, unusable)
    return candidates
