"""The read model is the same however its events are split into batches, and the overview's counts
kept on write answer exactly what counting the fact tables answers, for the program and each group.

The history is the generated one with people moving between groups added at random points after
they enrolled (profile updates, erasures, withdrawals): what moves their pairs and sessions from
one group's counts to another's.
"""

from __future__ import annotations

import random
from datetime import date
from uuid import UUID

import asyncpg
import pytest
from reporting.feed import reporting_feed, snapshot
from reporting.history import Batch, History, generate
from tandem_enrollment.domain import events as en
from tandem_enrollment.domain.values import ParticipantStatus, WithdrawalReason
from tandem_reporting.adapters import queries
from tandem_reporting.domain.filters import DIMENSIONS, Filters


def _with_people_moving(history: History, seed: int) -> History:
    rng = random.Random(seed)
    for person in rng.sample(sorted(history.people.values(), key=lambda p: p.participant_id), 24):
        identity = {
            "participant_id": person.participant_id,
            "program_id": person.program_id,
            "employee_id": "E-moved",
            "role": person.role,
        }
        change = rng.choice(("department", "site", "erased", "withdrew"))
        event: en.ParticipantEvent
        if change == "department":
            event = en.ParticipantProfileUpdated(**identity, changed_fields=("department",), department="Legal")
        elif change == "site":
            event = en.ParticipantProfileUpdated(
                **identity, changed_fields=("site", "country"), site="Berlin", country="de"
            )
        elif change == "erased":
            event = en.ParticipantErased(**identity)
        else:
            event = en.ParticipantWithdrew(
                **identity, reason=WithdrawalReason.WORKLOAD, previous_status=ParticipantStatus.APPROVED
            )
        stream = f"participant-{person.participant_id}"
        enrolled = next(n for n, batch in enumerate(history.batches) if batch.stream_id == stream)
        history.batches.insert(rng.randint(enrolled + 1, len(history.batches)), Batch("enrollment", stream, (event,)))
    return history


async def _groups(db: asyncpg.Connection, program_id: UUID) -> list[Filters]:
    filters = [Filters(), Filters(department="Nowhere")]
    for dimension in ("department", "site", "country", "role"):
        for value in await queries.dimension_values(db, program_id, dimension):
            filters.append(Filters(**{dimension: value}))
    filters.append(Filters(country="fr"))  # as a caller may write it
    return filters


async def test_any_batching_builds_the_same_read_model_and_counts_agree_with_the_facts(database_url: str) -> None:
    history = _with_people_moving(generate(seed=5, programs=2, participants=40), seed=5)
    async with reporting_feed(database_url) as feed:
        feed.runner.batch_size = 1  # live, one event at a time
        await feed.send(history.batches)
        models = {1: await snapshot(feed.pool)}
        for size in (7, 10_000):  # a few at a time, then all at once
            feed.runner.batch_size = size
            await feed.runner.rebuild()
            models[size] = await snapshot(feed.pool)

        checked = 0
        async with queries.reading(feed.pool) as db:
            for program_id in history.programs:
                for filters in await _groups(db, program_id):
                    group = filters.counted_group()
                    assert group is not None
                    counted = await queries.counted_overview(db, program_id, *group)
                    counted_funnel, counted_pairs, counted_sessions = counted
                    funnel = await queries.funnel_counts(db, program_id, filters)
                    pairs = await queries.pair_counts(db, program_id, filters)
                    sessions = await queries.session_counts(db, program_id, filters)
                    assert {name: counted_funnel[name] for name in funnel} == funnel, filters
                    # The mean score: an exact sum kept on write, PostgreSQL's float sum here.
                    mean, counted_mean = pairs.pop("mean_score"), counted_pairs.pop("mean_score")
                    assert counted_mean == (None if mean is None else pytest.approx(mean, rel=1e-12)), filters
                    assert {name: counted_pairs[name] for name in pairs} == pairs, filters
                    assert counted_sessions == sessions, filters
                    checked += funnel["enrolled"] > 0
            listed = {row["program_id"]: row["participants"] for row in await queries.programs(db)}

    assert listed == {
        program_id: sum(person["program_id"] == program_id for person in models[1]["participants"])
        for program_id in history.programs
    }

    assert models[7] == models[1]
    assert models[10_000] == models[1]
    assert checked > 20
    assert any(row["value"] == "Legal" for row in models[1]["overview_counts"])


def test_only_one_group_and_no_dates_or_job_level_are_answered_from_the_counts() -> None:
    assert Filters().counted_group() == ("", "")
    assert Filters(country="fr").counted_group() == ("country", "FR")
    assert Filters(role="junior").counted_group() == ("role", "junior")
    assert Filters(department="IT", role="junior").counted_group() is None
    assert Filters(job_level=3).counted_group() is None
    assert Filters(since=date(2026, 3, 2)).counted_group() is None
    assert set(DIMENSIONS) - {"job_level"} == {"department", "site", "country", "role"}
