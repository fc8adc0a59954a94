"""Pairing's kinds of stream; commands on them run through `tandem_kernel.commands.execute`.

The pairs ledger follows every pair stream in the append's transaction (`PAIRS.follow`).
"""

from __future__ import annotations

import asyncpg
from tandem_kernel.commands import StreamKind

from tandem_pairing.adapters import ledger
from tandem_pairing.domain.pair import Pair, replay_pair
from tandem_pairing.domain.pairing_round import PairingRound, replay_round
from tandem_pairing.domain.program_rules import ProgramRules, replay_rules

__all__ = ["PAIRS", "ROUNDS", "SETTINGS"]


async def _follow_pair(connection: asyncpg.Connection, pair: Pair) -> None:
    await ledger.save(connection, [pair])


PAIRS: StreamKind[Pair] = StreamKind("pair", replay_pair, _follow_pair)
"""`pair-<pair id>`: a proposal and the pair it becomes; the ledger follows it."""

ROUNDS: StreamKind[PairingRound] = StreamKind("round", replay_round)
"""`round-<round id>`"""

SETTINGS: StreamKind[ProgramRules] = StreamKind("pairing-settings", replay_rules)
"""`pairing-settings-<program id>`: settings, pins and forbidden pairs."""
