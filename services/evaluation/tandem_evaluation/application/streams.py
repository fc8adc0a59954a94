"""Evaluation's kinds of stream; commands on them run through `tandem_kernel.commands.execute`.

The read model follows the evaluation and pair-fit streams in the append's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from tandem_kernel.commands import StreamKind
from tandem_kernel.events import DomainEvent

from tandem_evaluation.adapters import read_model
from tandem_evaluation.domain.evaluation import Evaluation, replay_evaluation
from tandem_evaluation.domain.events import ProgramImpactUpdated
from tandem_evaluation.domain.pair_fit import PairFit, replay_pair_fit

__all__ = ["EVALUATIONS", "IMPACTS", "PAIR_FITS"]


async def _follow_evaluation(connection: asyncpg.Connection, evaluation: Evaluation) -> None:
    await read_model.save_evaluation(connection, evaluation)


async def _follow_pair_fit(connection: asyncpg.Connection, fit: PairFit) -> None:
    await read_model.save_pair_fit(connection, fit)


def _replay_impact(events: Iterable[DomainEvent], state: ProgramImpactUpdated | None) -> ProgramImpactUpdated | None:
    for event in events:
        assert isinstance(event, ProgramImpactUpdated)
        state = event
    return state


EVALUATIONS: StreamKind[Evaluation] = StreamKind("evaluation", replay_evaluation, _follow_evaluation)
"""`evaluation-<participant id>`: what the participant was asked and answered."""

PAIR_FITS: StreamKind[PairFit] = StreamKind("pair-fit", replay_pair_fit, _follow_pair_fit)
"""`pair-fit-<pair id>`: the fit answers of a pair, and its failure."""

IMPACTS: StreamKind[ProgramImpactUpdated] = StreamKind("impact", _replay_impact)
"""`impact-<program id>`: the program's figures, each time they changed."""
