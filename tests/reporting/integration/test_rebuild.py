"""The read model rebuilt from the retained inbox alone (no broker, no producer) equals the live one,
on a generated history of every service's events."""

from __future__ import annotations

from reporting.feed import reporting_feed, snapshot
from reporting.history import History, generate
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
