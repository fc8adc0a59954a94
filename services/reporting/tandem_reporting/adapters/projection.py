"""The `programs_v2` projection: every event reporting reads, applied to the fact tables once.

Fed by what the four subscriptions retained in the inbox (`Projection.consumes`), so
`tandem projections rebuild reporting.programs_v2` rebuilds it from the beginning, while the old
one serves, with no broker history. Each batch also records, per source service, the last event
applied and when (`freshness`): what every answer says about how fresh it is.

A batch is applied set-based, with the kernel's `ReadTable`s: load every row its events touch (one
query per table), fold the events over them in order (`adapters.facts`, pure), count what changed
for the overview (`adapters.overview_counts`, pure), and write each table's changed rows back with
one upsert. The fold keeps nothing between batches, so a batch the kernel applies again one event
at a time (to find one that fails) starts from the stored rows, and any split into batches leaves
the same read model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection
from tandem_kernel.read_tables import Row

from tandem_reporting.adapters import overview_counts as counts
from tandem_reporting.adapters.facts import CHANGES, UNREAD, Facts, fold
from tandem_reporting.adapters.overview_counts import SESSION_STATUSES
from tandem_reporting.adapters.tables import DDL, READ_SCHEMA, TABLES
from tandem_reporting.consumed import SOURCES, source_of
from tandem_reporting.consumed import enrollment as en
from tandem_reporting.consumed import pairing as pa

__all__ = ["APPLY", "PROJECTION_NAME", "apply_events", "programs_projection"]

# The version is in the names: when the tables change, a new schema is built from the whole inbox
# on first boot, beside the old one (drop it once nothing reads it).
PROJECTION_NAME = "programs_v2"

Tallies = dict[Any, Row]
"""The pairs' rows of `pair_sessions`, by pair."""

APPLY = CHANGES
"""Every type the readers decode, with what it does to the fact tables."""

# Who can move the pairs they are in to other groups (or into their program's counts at all).
_REGROUPING = frozenset((en.ParticipantEnrolled, en.ParticipantProfileUpdated, en.ParticipantErased))
_SIMPLE_KEYS = (
    ("participants", "participant_id"),
    ("participants", "junior_id"),
    ("participants", "senior_id"),
    ("pairs", "pair_id"),
    ("sessions", "session_id"),
    ("practices", "practice_id"),
    ("programs", "program_id"),  # and "program_impact": the same keys (`_load`)
)


def _key_columns(model: type[DomainEvent]) -> tuple[tuple[str, str], ...]:
    return tuple((table, column) for table, column in _SIMPLE_KEYS if column in model.model_fields)


# Per event type, worked out once: the (table, column) of each key its events carry. Dispatching on
# the exact type is what `fold` does; a `match` on classes was an `isinstance` per case and event,
# each through pydantic's ABC metaclass.
_NAMED: Mapping[type[DomainEvent], tuple[tuple[str, str], ...]] = {model: _key_columns(model) for model in CHANGES}


async def _load(db: asyncpg.Connection, events: Sequence[EventEnvelope]) -> tuple[Facts, Tallies]:
    """The rows the batch's events touch, and those its overview counts depend on; the pairs' session
    tallies beside them."""
    # The (table, key) of the rows each event's change may touch (a few more do no harm).
    keys: dict[str, set[Any]] = {name: set() for name in TABLES}
    keys["program_impact"] = keys["programs"]  # both keyed by program: one set, each id hashed once
    regrouping, rounds = [], set()
    for envelope in events:
        event = envelope.payload
        values = event.__dict__
        for table, column in _NAMED[type(event)]:
            keys[table].add(values[column])
        if type(event) in _REGROUPING:
            regrouping.append(values["participant_id"])
        elif type(event) is pa.PairingRoundCompleted:
            rounds.add(values["program_id"])
    facts = Facts()
    rows = facts.rows
    # Not the tables no change reads (`UNREAD`): the fold starts them empty.
    for table in ("programs", "sessions", "practices", "program_impact"):
        rows[table] = await TABLES[table].load(db, keys[table])
    # The pairs of people who may change group, and every pair a session of the batch is of.
    pair_ids = keys["pairs"] | {row["pair_id"] for row in rows["sessions"].values()}
    rows["pairs"] = await TABLES["pairs"].load(db, pair_ids)
    for column in ("junior_id", "senior_id"):
        rows["pairs"] |= await TABLES["pairs"].load_by(db, column, regrouping)
    pair_ids |= set(rows["pairs"])
    rows["pair_flags"] = await TABLES["pair_flags"].load(db, pair_ids)
    tallies = await counts.PAIR_SESSIONS.load(db, pair_ids)
    # Every member of those pairs, and every participant of a program whose round completed.
    people = keys["participants"] | {p[role] for p in rows["pairs"].values() for role in ("junior_id", "senior_id")}
    rows["participants"] = await TABLES["participants"].load(db, people)
    rows["participants"] |= await TABLES["participants"].load_by(db, "program_id", rounds)
    rows["milestones"] = await TABLES["milestones"].load(db, set(rows["participants"]) | keys["participants"])
    facts.loaded()
    return facts, tallies


def _retally(facts: Facts, stored: Tallies) -> Tallies:
    """The session tallies of the pairs whose sessions the fold added or moved to another status."""
    tallies: Tallies = {}
    for key in facts.changed["sessions"]:
        before, after = facts.original["sessions"].get(key), facts.rows["sessions"][key]
        if before is not None and before["status"] == after["status"]:
            continue
        pair_id = after["pair_id"]
        tally = tallies.get(pair_id) or stored.get(pair_id) or {"pair_id": pair_id} | dict.fromkeys(SESSION_STATUSES, 0)
        tally = dict(tally)
        if before is not None:
            tally[before["status"]] -= 1
        tally[after["status"]] += 1
        tallies[pair_id] = tally
    return tallies


def _pair_counts(rows: dict[str, dict[Any, Row]], tallies: Tallies, key: Any) -> counts.Contribution | None:
    pair = rows["pairs"].get(key)
    if pair is None:
        return None
    people = rows["participants"]
    junior, senior = people.get(pair["junior_id"]), people.get(pair["senior_id"])
    return counts.pair_counts(pair, rows["pair_flags"].get(key), tallies.get(key), junior, senior)


def _recount(facts: Facts, stored: Tallies, tallies: Tallies) -> tuple[counts.Tally, list[Row]]:
    """What the fold changed in the overview's counts, and the first sessions it added or moved."""
    rows, original, changed = facts.rows, facts.original, facts.changed
    tally = counts.Tally()
    first_sessions = []
    for key in changed["participants"] | changed["milestones"]:
        before = (original["participants"].get(key), original["milestones"].get(key))
        after = (rows["participants"].get(key), rows["milestones"].get(key))
        tally.change(counts.person_counts(*before), counts.person_counts(*after))
        if (first := counts.first_session(*after)) is not None and first != counts.first_session(*before):
            first_sessions.append(first)
    moved = {
        key
        for key in changed["participants"]
        if counts.regrouped(original["participants"].get(key), rows["participants"][key])
    }
    pairs = changed["pairs"] | changed["pair_flags"] | set(tallies)
    pairs |= {key for key, pair in rows["pairs"].items() if pair["junior_id"] in moved or pair["senior_id"] in moved}
    for key in pairs:
        tally.change(_pair_counts(original, stored, key), _pair_counts(rows, stored | tallies, key))
    return tally, first_sessions


async def apply_events(events: Sequence[EventEnvelope], db: asyncpg.Connection) -> None:
    """Apply `events` in order (a few statements per table, see the module), then note the last one
    applied from each source."""
    facts, stored = await _load(db, events)
    fold(facts, list(events))
    tallies = _retally(facts, stored)
    tally, first_sessions = _recount(facts, stored, tallies)
    for name, table in TABLES.items():
        await table.upsert(db, (facts.rows[name][key] for key in facts.changed[name]), updating=UNREAD.get(name))
    await counts.PAIR_SESSIONS.upsert(db, tallies.values())
    await counts.FIRST_SESSIONS.upsert(db, first_sessions)
    deltas = tally.rows()
    await counts.OVERVIEW_COUNTS.add(db, deltas)
    # A group nobody is in any more has no row (as if it never had anyone: any batching, same rows).
    emptied = [row for row in deltas if row["enrolled"] < 0 or row["proposed"] < 0]
    if emptied:
        await db.execute(
            "DELETE FROM overview_counts WHERE (program_id, dimension, value) IN"
            " (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])) AND enrolled = 0 AND proposed = 0",
            *([row[column] for row in emptied] for column in ("program_id", "dimension", "value")),
        )
    last = {source_of(envelope.event_type): envelope for envelope in events}
    if last:
        await db.executemany(
            "INSERT INTO freshness VALUES ($1, $2, $3, $4, clock_timestamp()) ON CONFLICT (source) DO UPDATE SET"
            " event_id = EXCLUDED.event_id, event_type = EXCLUDED.event_type, occurred_at = EXCLUDED.occurred_at,"
            " applied_at = EXCLUDED.applied_at",
            [(source, e.event_id, e.event_type, e.occurred_at) for source, e in last.items()],
        )


programs_projection = Projection(
    PROJECTION_NAME,
    read_schema=READ_SCHEMA,
    ddl=DDL,
    consumes=tuple(source.subscription for source in SOURCES),
    batch=apply_events,
)
