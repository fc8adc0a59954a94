"""The read model rebuilt from the retained inbox alone (no broker, no producer) equals the live one,
on a generated history of every service's events."""

from __future__ import annotations

from datetime import timedelta

from reporting.feed import reporting_feed, snapshot
from reporting.history import Batch, History, generate
from tandem_evaluation.domain import events as e
from tandem_kernel.events import DomainEvent
from tandem_reporting.adapters.tables import READ_SCHEMA


async def test_a_rebuilt_read_model_equals_the_live_one(database_url: str) -> None:
    history = generate(seed=7, programs=2, participants=40)
    async with reporting_feed(database_url) as feed:
        # Live, one event at a time: each event's change alone, in order (the oracle). The rebuild
        # applies the whole history in one batch: rows loaded once, folded, written once per table.
        feed.runner.batch_size = 1
        half = len(history.batches) // 2
        await feed.send(history.batches[:half])
        await feed.send(history.batches[half:])
        live = await snapshot(feed.pool)

        feed.runner.batch_size = 10_000
        rebuilt_from = await feed.runner.rebuild()
        rebuilt = await snapshot(feed.pool)

    assert rebuilt == live
    assert rebuilt_from == sum(len(batch.events) for batch in history.batches) - _ignored(history)
    assert len(live["participants"]) == 80 and len(live["programs"]) == 2
    assert sum(row["status"] == "held" for row in live["sessions"]) == history.sessions["held"]
    assert len(live["feedback"]) == len(history.feedback)


def _stated_again(event: DomainEvent) -> DomainEvent | None:
    """The same fact (same key) stated later with other values, and other details beside the key."""
    match event:
        case e.SkillsAssessed():
            ratings = tuple(rating.model_copy(update={"level": 6 - rating.level}) for rating in event.ratings)
            role = e.Role.SENIOR if event.role == e.Role.JUNIOR else e.Role.JUNIOR
            return event.model_copy(
                update={"ratings": ratings, "role": role, "assessed_at": event.assessed_at + timedelta(days=1)}
            )
        case e.SessionFeedbackGiven():
            return event.model_copy(update={"usefulness": 6 - event.usefulness, "trust": 6 - event.trust})
        case e.SurveyAnswered():
            return event.model_copy(update={"satisfaction": 6 - event.satisfaction, "at": event.at + timedelta(days=1)})
        case e.ObjectiveProgressed():
            return event.model_copy(update={"percent": 100 - event.percent, "at": event.at + timedelta(days=1)})
    return None


async def test_a_fact_stated_again_sets_its_values_on_the_row_whatever_the_batches(database_url: str) -> None:
    # Ratings, feedback, surveys and objectives are written without being read back first: a row
    # stated again (in the same batch or a later one) takes the new values and keeps the rest.
    history = generate(seed=9, programs=1, participants=20)
    again = [
        Batch(batch.service, batch.stream_id, restated)
        for batch in history.batches
        if (restated := tuple(event for e_ in batch.events if (event := _stated_again(e_)) is not None))
    ]
    assert {type(event) for batch in again for event in batch.events} == {
        e.SkillsAssessed,
        e.SessionFeedbackGiven,
        e.SurveyAnswered,
        e.ObjectiveProgressed,
    }
    async with reporting_feed(database_url) as feed:
        feed.runner.batch_size = 1
        await feed.send(history.batches)
        first = await snapshot(feed.pool)
        await feed.send(again)
        live = await snapshot(feed.pool)

        feed.runner.batch_size = 10_000
        await feed.runner.rebuild()
        rebuilt = await snapshot(feed.pool)

    assert rebuilt == live
    for table, values in {
        "ratings": ("level", "assessed_at"),
        "feedback": ("usefulness", "trust", "given_at"),
        "surveys": ("satisfaction", "recommendation", "answered_at"),
        "objectives": ("percent", "progressed_at"),
    }.items():
        assert len(live[table]) == len(first[table]) > 0, table
        changed = [
            name
            for before, after in zip(first[table], live[table], strict=True)
            for name in before
            if before[name] != after[name]
        ]
        assert changed and set(changed) <= set(values), table  # the role a rating was given in stays


async def test_the_read_model_says_the_last_event_applied_from_each_source(database_url: str) -> None:
    history = generate(seed=3)
    async with reporting_feed(database_url) as feed:
        await feed.send(history.batches)
        rows = await feed.pool.fetch(f"SELECT source, event_type FROM {READ_SCHEMA}.freshness")

    last = {}
    for batch in history.batches:
        for event in batch.events:
            if event.event_type.partition(".")[2] not in _IGNORED:
                last[batch.service] = event.event_type
    assert {row["source"]: row["event_type"] for row in rows} == last


_IGNORED = {
    "ProgramOpened",
    "ProposalAccepted",
    "SessionAgendaUpdated",
    "AssessmentRequested",
}


def _ignored(history: History) -> int:
    return sum(event.event_type.partition(".")[2] in _IGNORED for batch in history.batches for event in batch.events)
