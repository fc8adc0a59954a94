"""What each event reporting reads does to the fact tables: pure changes of rows, no I/O.

A batch of events is folded over `Facts`, the rows it touches as loaded from the read model (see
`adapters.projection`), in order; each change below is what the one-statement-per-event SQL it
replaces did: an upsert inserts a missing row or updates some columns of an existing one, an update
of a missing row changes nothing, a funnel milestone keeps the earliest time. `Facts` remembers the
rows as loaded (`original`), so what a batch changed can be written back, and counted
(`adapters.overview_counts`), without asking the database again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.read_tables import Row

from tandem_reporting.adapters.tables import TABLES
from tandem_reporting.consumed import enrollment as en
from tandem_reporting.consumed import evaluation as ev
from tandem_reporting.consumed import pairing as pa
from tandem_reporting.consumed import sessions as se

__all__ = ["CHANGES", "UNREAD", "Facts", "fold"]


@dataclass
class Facts:
    """The rows a batch touches, by table and key; `original` holds them as loaded (absent: no row)."""

    rows: dict[str, dict[Any, Row]] = field(default_factory=lambda: {name: {} for name in TABLES})
    original: dict[str, dict[Any, Row]] = field(default_factory=dict)
    changed: dict[str, set[Any]] = field(default_factory=lambda: {name: set() for name in TABLES})

    def loaded(self) -> None:
        """What is in `rows` now is the stored state (call once loading is done, before the fold)."""
        self.original = {name: dict(rows) for name, rows in self.rows.items()}

    def get(self, table: str, key: Any) -> Row | None:
        return self.rows[table].get(key)

    def put(self, table: str, key: Any, row: Row) -> None:
        self.rows[table][key] = row
        self.changed[table].add(key)

    def upsert(self, table: str, key: Any, inserted: Row, updated: Row) -> None:
        """Insert `inserted` (other columns at their defaults), or set `updated` on the existing row."""
        rows = self.rows[table]
        row = rows.get(key)
        rows[key] = _NEW[table] | inserted if row is None else row | updated
        self.changed[table].add(key)

    def update(self, table: str, key: Any, updated: Row) -> None:
        """Set `updated` on the existing row; nothing when there is none."""
        rows = self.rows[table]
        row = rows.get(key)
        if row is not None:
            rows[key] = row | updated
            self.changed[table].add(key)


_DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "participants": {"status": "enrolled", "approved": False, "unmatched": False}
}

# A new row of each table before its values are set (never changed: `|` makes a new dict).
_NEW: Mapping[str, Row] = {
    name: dict.fromkeys(table.columns) | dict(_DEFAULTS.get(name, {})) for name, table in TABLES.items()
}


Change = Callable[[Any, EventEnvelope, Facts], None]


def _program_created(event: en.ProgramCreated, _: EventEnvelope, facts: Facts) -> None:
    facts.upsert(
        "programs", event.program_id, {"program_id": event.program_id, "name": event.name}, {"name": event.name}
    )


def _enrolled(event: en.ParticipantEnrolled, _: EventEnvelope, facts: Facts) -> None:
    groups = {
        "department": event.department,
        "site": event.site,
        "country": event.country.upper(),
        "job_level": event.job_level,
        "enrolled_at": event.enrolled_at,
    }
    identity = {"participant_id": event.participant_id, "program_id": event.program_id, "role": event.role}
    facts.upsert("participants", event.participant_id, identity | groups, groups)


def _status(status: str, *, approved: bool | None = None) -> Change:
    def change(event: Any, _: EventEnvelope, facts: Facts) -> None:
        facts.update("participants", event.participant_id, {"status": status} | _unless_none(approved=approved))

    return change


def _unless_none(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _erased(event: en.ParticipantErased, _: EventEnvelope, facts: Facts) -> None:
    # They still count, in no group: their groups could single them out.
    forgotten = dict.fromkeys(("department", "site", "country", "job_level"))
    facts.update("participants", event.participant_id, {"status": "erased"} | forgotten)


def _profile_updated(event: en.ParticipantProfileUpdated, _: EventEnvelope, facts: Facts) -> None:
    row = facts.get("participants", event.participant_id)
    if row is None or row["status"] == "erased":
        return
    changed = set(event.changed_fields)
    values = {name: getattr(event, name) for name in ("department", "site", "country", "job_level")}
    values = {name: value for name, value in values.items() if name in changed and value is not None}
    if "country" in values:
        values["country"] = values["country"].upper()
    facts.update("participants", event.participant_id, values)


def _milestone(facts: Facts, participant_id: Any, program_id: Any, column: str, at: datetime) -> None:
    """One participant's first time reaching a funnel stage (facts may arrive in any order)."""
    row = facts.get("milestones", participant_id)
    earliest = at if row is None or row[column] is None else min(row[column], at)
    facts.upsert(
        "milestones",
        participant_id,
        {"participant_id": participant_id, "program_id": program_id, column: at},
        {column: earliest},
    )


def _pair(event: Any) -> Row:
    return {name: getattr(event, name) for name in ("pair_id", "program_id", "junior_id", "senior_id")}


def _proposed(event: pa.PairProposed, _: EventEnvelope, facts: Facts) -> None:
    proposal = {"score": event.score, "proposed_at": event.proposed_at}
    facts.upsert("pairs", event.pair_id, _pair(event) | proposal | {"status": "proposed"}, proposal)


def _activated(event: pa.PairActivated, _: EventEnvelope, facts: Facts) -> None:
    activation = {"status": "active", "activated_at": event.activated_at}
    facts.upsert("pairs", event.pair_id, _pair(event) | activation, activation)
    for person in (event.junior_id, event.senior_id):
        _milestone(facts, person, event.program_id, "paired_at", event.activated_at)


def _proposal_closed(status: str) -> Change:
    def change(event: Any, _: EventEnvelope, facts: Facts) -> None:
        row = facts.get("pairs", event.pair_id)
        if row is not None and row["status"] == "proposed":
            facts.put("pairs", event.pair_id, row | {"status": status})

    return change


def _ended(event: pa.PairEnded, _: EventEnvelope, facts: Facts) -> None:
    facts.update("pairs", event.pair_id, {"status": "ended", "ended_at": event.ended_at})


def _round_completed(event: pa.PairingRoundCompleted, _: EventEnvelope, facts: Facts) -> None:
    # Every approved participant of the program (all loaded for this event, see `projection`).
    unmatched = {person.participant_id for person in event.unmatched}
    for key, row in list(facts.rows["participants"].items()):
        if row["program_id"] == event.program_id and row["approved"]:
            facts.put("participants", key, row | {"unmatched": key in unmatched})


def _session(facts: Facts, event: Any, inserted: Row, updated: Row) -> None:
    row = _pair(event) | {"session_id": event.session_id, "starts_at": None, "held_at": None}
    facts.upsert("sessions", event.session_id, row | inserted, updated)


def _clear_flag(facts: Facts, pair_id: Any, flag: str, answered_at: datetime) -> None:
    """A flag raised at or before `answered_at` is answered."""
    row = facts.get("pair_flags", pair_id)
    if row is not None and row[f"{flag}_at"] is not None and row[f"{flag}_at"] <= answered_at:
        facts.put("pair_flags", pair_id, row | {f"{flag}_reason": None, f"{flag}_at": None})


def _scheduled(event: se.SessionScheduled, envelope: EventEnvelope, facts: Facts) -> None:
    _session(facts, event, {"starts_at": event.starts_at, "status": "planned"}, {"starts_at": event.starts_at})
    # Planning a session answers "needs attention" raised before it.
    _clear_flag(facts, event.pair_id, "attention", envelope.occurred_at)


def _rescheduled(event: se.SessionRescheduled, _: EventEnvelope, facts: Facts) -> None:
    _session(facts, event, {"starts_at": event.starts_at, "status": "planned"}, {"starts_at": event.starts_at})


def _held(event: se.SessionHeld, _: EventEnvelope, facts: Facts) -> None:
    held = {"status": "held", "held_at": event.held_at}
    _session(facts, event, held | {"starts_at": event.held_at}, held)
    for person in (event.junior_id, event.senior_id):
        _milestone(facts, person, event.program_id, "first_held_at", event.held_at)
    # A session held after the pair was flagged at risk answers the flag.
    _clear_flag(facts, event.pair_id, "at_risk", event.held_at)


def _session_closed(status: str) -> Change:
    def change(event: Any, _: EventEnvelope, facts: Facts) -> None:
        _session(facts, event, {"status": status}, {"status": status})

    return change


def _flagged(flag: str) -> Change:
    def change(event: Any, _: EventEnvelope, facts: Facts) -> None:
        raised = {f"{flag}_reason": event.reason, f"{flag}_at": event.detected_at}
        facts.upsert(
            "pair_flags", event.pair_id, {"pair_id": event.pair_id, "program_id": event.program_id} | raised, raised
        )

    return change


def _assessed(event: ev.SkillsAssessed, _: EventEnvelope, facts: Facts) -> None:
    identity = {"participant_id": event.participant_id, "program_id": event.program_id, "role": event.role}
    identity |= {"phase": event.phase, "rated_by": event.by}
    for rating in event.ratings:
        key = (event.participant_id, event.phase, event.by, rating.skill)
        level = {"level": rating.level, "assessed_at": event.assessed_at}
        facts.upsert("ratings", key, identity | level | {"skill": rating.skill}, level)
    if event.phase == "end":
        _milestone(facts, event.participant_id, event.program_id, "final_assessed_at", event.assessed_at)


def _feedback(event: ev.SessionFeedbackGiven, _: EventEnvelope, facts: Facts) -> None:
    given = {"usefulness": event.usefulness, "trust": event.trust, "given_at": event.at}
    identity = {"session_id": event.session_id, "participant_id": event.participant_id, "program_id": event.program_id}
    facts.upsert("feedback", (event.session_id, event.participant_id), identity | given, given)


def _survey(event: ev.SurveyAnswered, _: EventEnvelope, facts: Facts) -> None:
    answer = {"satisfaction": event.satisfaction, "recommendation": event.recommendation, "answered_at": event.at}
    identity = {"participant_id": event.participant_id, "program_id": event.program_id}
    facts.upsert("surveys", (event.program_id, event.participant_id), identity | answer, answer)


def _practice(column: str) -> Change:
    def change(event: Any, _: EventEnvelope, facts: Facts) -> None:
        identity = {
            "practice_id": event.practice_id,
            "program_id": event.program_id,
            "participant_id": event.participant_id,
        }
        on = {column: getattr(event, column)}
        facts.upsert("practices", event.practice_id, identity | on, on)

    return change


def _objective(event: ev.ObjectiveProgressed, _: EventEnvelope, facts: Facts) -> None:
    progress = {"percent": event.percent, "progressed_at": event.at}
    identity = {"program_id": event.program_id, "participant_id": event.participant_id, "objective": event.objective}
    facts.upsert("objectives", (event.program_id, event.participant_id, event.objective), identity | progress, progress)


_IMPACT_FIELDS = {"skills", "adopted_share", "nps", "completion", "comparison"}


def _impact(event: ev.ProgramImpactUpdated, _: EventEnvelope, facts: Facts) -> None:
    row = facts.get("program_impact", event.program_id)
    if row is None or row["computed_at"] <= event.computed_at:  # a late, older estimate changes nothing
        impact = event.model_dump_json(include=_IMPACT_FIELDS)
        facts.put(
            "program_impact",
            event.program_id,
            {"program_id": event.program_id, "computed_at": event.computed_at, "impact": impact},
        )


UNREAD: Mapping[str, tuple[str, ...]] = {
    "ratings": ("level", "assessed_at"),
    "feedback": ("usefulness", "trust", "given_at"),
    "surveys": ("satisfaction", "recommendation", "answered_at"),
    "objectives": ("percent", "progressed_at"),
}
"""Tables no change reads, only upserts into, every event setting the same columns of a stored row
(these): a batch need not load their rows. What the fold makes of a batch's events for a key, from
no row, written with only these columns set on a stored row, is what the events one by one make of
the stored row (`apply_events`)."""

CHANGES: Mapping[type[DomainEvent], Change] = {
    en.ProgramCreated: _program_created,
    en.ParticipantEnrolled: _enrolled,
    en.ParticipantApproved: _status("approved", approved=True),
    en.ParticipantWaitlisted: _status("waitlisted"),
    en.ParticipantWithdrew: _status("withdrawn"),
    en.ParticipantErased: _erased,
    en.ParticipantProfileUpdated: _profile_updated,
    pa.PairProposed: _proposed,
    pa.PairActivated: _activated,
    pa.ProposalDeclined: _proposal_closed("declined"),
    pa.ProposalExpired: _proposal_closed("expired"),
    pa.ProposalWithdrawn: _proposal_closed("withdrawn"),
    pa.PairEnded: _ended,
    pa.PairingRoundCompleted: _round_completed,
    se.SessionScheduled: _scheduled,
    se.SessionRescheduled: _rescheduled,
    se.SessionHeld: _held,
    se.SessionMissed: _session_closed("missed"),
    se.SessionCancelled: _session_closed("cancelled"),
    se.PairAtRisk: _flagged("at_risk"),
    se.PairNeedsAttention: _flagged("attention"),
    ev.SkillsAssessed: _assessed,
    ev.SessionFeedbackGiven: _feedback,
    ev.SurveyAnswered: _survey,
    ev.PracticeAdopted: _practice("adopted_on"),
    ev.PracticeAbandoned: _practice("abandoned_on"),
    ev.ObjectiveProgressed: _objective,
    ev.ProgramImpactUpdated: _impact,
}
"""Every type the readers decode has its change here (a test holds the two lists together)."""


def fold(facts: Facts, events: list[EventEnvelope]) -> None:
    """Apply `events` in order to `facts` (no I/O): each row ends as the events one by one leave it."""
    for envelope in events:
        payload = envelope.payload
        CHANGES[type(payload)](payload, envelope, facts)
