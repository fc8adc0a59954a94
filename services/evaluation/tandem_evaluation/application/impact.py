"""A program's impact from the read model: its evaluated participants' outcomes, the figures
(`domain.impact`), and `ProgramImpactUpdated` published when they change.

    figures = await impact.figures_of(pool, program_id)
    published = await impact.publish_if_changed(store, program_id, now=now, metadata=metadata)
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from uuid import UUID

from tandem_kernel.commands import execute
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_evaluation.adapters import facts, read_model
from tandem_evaluation.adapters.facts import Executor
from tandem_evaluation.application.streams import IMPACTS
from tandem_evaluation.domain.events import Phase, ProgramImpactUpdated
from tandem_evaluation.domain.impact import Outcome, ProgramFigures, program_impact

__all__ = ["figures_document", "figures_of", "outcomes_of", "publish_if_changed"]


async def outcomes_of(executor: Executor, program_id: UUID) -> list[Outcome]:
    """One outcome per participant of the program asked for a baseline (everyone evaluated)."""
    participants = {p.participant_id: p for p in await facts.participants_of_program(executor, program_id)}
    paired = {
        person
        for row in await executor.fetch("SELECT junior_id, senior_id FROM pairs WHERE program_id = $1", program_id)
        for person in (row["junior_id"], row["senior_id"])
    }
    outcomes = []
    for participant_id, evaluation in sorted((await read_model.evaluations_of_program(executor, program_id)).items()):
        participant = participants.get(participant_id)
        if participant is None or Phase.BASELINE not in evaluation.requested:
            continue
        outcomes.append(
            Outcome(
                role=participant.role,
                paired=participant_id in paired,
                baseline=evaluation.self_ratings.get(Phase.BASELINE),
                end=evaluation.self_ratings.get(Phase.END),
                adopted=evaluation.has_adopted(),
                recommendation=evaluation.recommendation,
            )
        )
    return outcomes


async def figures_of(executor: Executor, program_id: UUID) -> ProgramFigures:
    return program_impact(await outcomes_of(executor, program_id))


def figures_document(figures: ProgramFigures) -> dict[str, Any]:
    """The figures as JSON (what `ProgramImpactUpdated` carries, without its time)."""
    return {
        "skills": [skill.model_dump(mode="json") for skill in figures.skills],
        "adopted_share": figures.adopted_share,
        "nps": figures.nps,
        "completion": figures.completion,
        "comparison": [comparison.model_dump(mode="json") for comparison in figures.comparison],
    }


async def publish_if_changed(store: EventStore, program_id: UUID, *, now: datetime, metadata: EventMetadata) -> bool:
    """Append `ProgramImpactUpdated` if the program's figures differ from the last published; returns whether."""
    async with store.transaction() as unit:
        # One publisher per program at a time: the scheduler's pass and a rerun never both publish.
        await unit.connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"impact-{program_id}")
        figures = await figures_of(unit.connection, program_id)
        document = figures_document(figures)
        if figures.adopted_share is None or document == await read_model.last_published(unit.connection, program_id):
            return False
        event = ProgramImpactUpdated(program_id=program_id, computed_at=now, **dataclasses.asdict(figures))
        await execute(
            store,
            IMPACTS,
            program_id,
            lambda _: [event],
            metadata=metadata,
            occurred_at=now,
            connection=unit.connection,
        )
        await read_model.record_published(unit.connection, program_id, document)
    return True
