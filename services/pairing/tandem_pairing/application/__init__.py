"""Pairing's application layer: commands that load a stream, decide with the pure domain and append;
the policies that keep the pool from enrollment's events; rounds; the scheduler.

    round_id, _ = await rounds.request(store, program_id, RoundKind.FULL, now=now, metadata=metadata)
    await rounds.run(store, round_id)
    pair = await pairs.accept(store, pair_id, participant_id, now=now, metadata=metadata)
"""

from tandem_pairing.application import compatibility, pairs, program_settings, rounds, scheduler
from tandem_pairing.application.policies import enrollment_subscription

__all__ = [
    "compatibility",
    "enrollment_subscription",
    "pairs",
    "program_settings",
    "rounds",
    "scheduler",
]
