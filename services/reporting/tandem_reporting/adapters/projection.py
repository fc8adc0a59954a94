"""The `programs` projection: every event reporting reads, applied to the fact tables once.

Fed by what the four subscriptions retained in the inbox (`Projection.consumes`), so
`tandem projections rebuild reporting.programs` rebuilds it from the beginning, while the old one
serves, with no broker history. Each batch also records, per source service, the last event applied
and when (`freshness`): what every answer says about how fresh it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from tandem_kernel.events import DomainEvent, EventEnvelope
from tandem_kernel.projections import Projection

from tandem_reporting.adapters.tables import DDL, READ_SCHEMA
from tandem_reporting.consumed import SOURCES, source_of
from tandem_reporting.consumed import enrollment as en
from tandem_reporting.consumed import evaluation as ev
from tandem_reporting.consumed import pairing as pa
from tandem_reporting.consumed import sessions as se

__all__ = ["PROJECTION_NAME", "apply_events", "programs_projection"]

PROJECTION_NAME = "programs"

Apply = Callable[[Any, EventEnvelope, "Writes"], Awaitable[None]]


async def _program_created(event: en.ProgramCreated, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO programs VALUES ($1, $2) ON CONFLICT (program_id) DO UPDATE SET name = EXCLUDED.name",
        event.program_id,
        event.name,
    )


async def _enrolled(event: en.ParticipantEnrolled, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO participants (participant_id, program_id, role, department, site, country, job_level,"
        " enrolled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (participant_id) DO UPDATE SET"
        " department = EXCLUDED.department, site = EXCLUDED.site, country = EXCLUDED.country,"
        " job_level = EXCLUDED.job_level, enrolled_at = EXCLUDED.enrolled_at",
        event.participant_id,
        event.program_id,
        event.role,
        event.department,
        event.site,
        event.country.upper(),
        event.job_level,
        event.enrolled_at,
    )


def _status(status: str, *, approved: bool | None = None) -> Apply:
    async def apply(event: Any, _: EventEnvelope, db: Writes) -> None:
        await db.execute(
            "UPDATE participants SET status = $2, approved = coalesce($3, approved) WHERE participant_id = $1",
            event.participant_id,
            status,
            approved,
        )

    return apply


async def _erased(event: en.ParticipantErased, _: EventEnvelope, db: Writes) -> None:
    # They still count, in no group: their groups could single them out.
    await db.execute(
        "UPDATE participants SET status = 'erased', department = NULL, site = NULL, country = NULL,"
        " job_level = NULL WHERE participant_id = $1",
        event.participant_id,
    )


async def _profile_updated(event: en.ParticipantProfileUpdated, _: EventEnvelope, db: Writes) -> None:
    changed = set(event.changed_fields)
    await db.execute(
        "UPDATE participants SET"
        " department = CASE WHEN $2 THEN $3 ELSE department END,"
        " site = CASE WHEN $4 THEN $5 ELSE site END,"
        " country = CASE WHEN $6 THEN upper($7) ELSE country END,"
        " job_level = CASE WHEN $8 THEN $9 ELSE job_level END"
        " WHERE participant_id = $1 AND status <> 'erased'",
        event.participant_id,
        "department" in changed and event.department is not None,
        event.department,
        "site" in changed and event.site is not None,
        event.site,
        "country" in changed and event.country is not None,
        event.country,
        "job_level" in changed and event.job_level is not None,
        event.job_level,
    )


def _milestone(column: str) -> str:
    """Upsert one participant's first time reaching a funnel stage (facts may arrive in any order)."""
    return (
        f"INSERT INTO milestones (participant_id, program_id, {column}) VALUES ($1, $2, $3)"
        f" ON CONFLICT (participant_id) DO UPDATE SET {column} ="
        f" least(milestones.{column}, EXCLUDED.{column})"
    )


async def _proposed(event: pa.PairProposed, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO pairs (pair_id, program_id, junior_id, senior_id, score, proposed_at, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'proposed') ON CONFLICT (pair_id) DO UPDATE SET"
        " score = EXCLUDED.score, proposed_at = EXCLUDED.proposed_at",
        event.pair_id,
        event.program_id,
        event.junior_id,
        event.senior_id,
        event.score,
        event.proposed_at,
    )


async def _activated(event: pa.PairActivated, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO pairs (pair_id, program_id, junior_id, senior_id, status, activated_at)"
        " VALUES ($1, $2, $3, $4, 'active', $5) ON CONFLICT (pair_id) DO UPDATE SET"
        " status = 'active', activated_at = EXCLUDED.activated_at",
        event.pair_id,
        event.program_id,
        event.junior_id,
        event.senior_id,
        event.activated_at,
    )
    await db.executemany(
        _milestone("paired_at"),
        [(person, event.program_id, event.activated_at) for person in (event.junior_id, event.senior_id)],
    )


def _proposal_closed(status: str) -> Apply:
    async def apply(event: Any, _: EventEnvelope, db: Writes) -> None:
        await db.execute(
            "UPDATE pairs SET status = $2 WHERE pair_id = $1 AND status = 'proposed'", event.pair_id, status
        )

    return apply


async def _ended(event: pa.PairEnded, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "UPDATE pairs SET status = 'ended', ended_at = $2 WHERE pair_id = $1", event.pair_id, event.ended_at
    )


async def _round_completed(event: pa.PairingRoundCompleted, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "UPDATE participants SET unmatched = participant_id = ANY($2::uuid[]) WHERE program_id = $1 AND approved",
        event.program_id,
        [unmatched.participant_id for unmatched in event.unmatched],
    )


_UPSERT_SESSION = (
    "INSERT INTO sessions (session_id, pair_id, program_id, junior_id, senior_id, starts_at, status, held_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (session_id) DO UPDATE SET "
)


async def _scheduled(event: se.SessionScheduled, envelope: EventEnvelope, db: Writes) -> None:
    await _session(db, event, event.starts_at, "planned", None, "starts_at = EXCLUDED.starts_at")
    # Planning a session answers "needs attention" raised before it.
    await db.execute(
        "UPDATE pair_flags SET attention_reason = NULL, attention_at = NULL WHERE pair_id = $1 AND attention_at <= $2",
        event.pair_id,
        envelope.occurred_at,
    )


async def _rescheduled(event: se.SessionRescheduled, _: EventEnvelope, db: Writes) -> None:
    await _session(db, event, event.starts_at, "planned", None, "starts_at = EXCLUDED.starts_at")


async def _held(event: se.SessionHeld, _: EventEnvelope, db: Writes) -> None:
    await _session(db, event, event.held_at, "held", event.held_at, "status = 'held', held_at = EXCLUDED.held_at")
    await db.executemany(
        _milestone("first_held_at"),
        [(person, event.program_id, event.held_at) for person in (event.junior_id, event.senior_id)],
    )
    # A session held after the pair was flagged at risk answers the flag.
    await db.execute(
        "UPDATE pair_flags SET at_risk_reason = NULL, at_risk_at = NULL WHERE pair_id = $1 AND at_risk_at <= $2",
        event.pair_id,
        event.held_at,
    )


def _session_closed(status: str) -> Apply:
    async def apply(event: Any, _: EventEnvelope, db: Writes) -> None:
        await _session(db, event, None, status, None, f"status = '{status}'")

    return apply


async def _session(db: Writes, event: Any, starts_at: Any, status: str, held_at: Any, on_conflict: str) -> None:
    await db.execute(
        _UPSERT_SESSION + on_conflict,
        event.session_id,
        event.pair_id,
        event.program_id,
        event.junior_id,
        event.senior_id,
        starts_at,
        status,
        held_at,
    )


async def _at_risk(event: se.PairAtRisk, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO pair_flags (pair_id, program_id, at_risk_reason, at_risk_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (pair_id) DO UPDATE SET at_risk_reason = EXCLUDED.at_risk_reason,"
        " at_risk_at = EXCLUDED.at_risk_at",
        event.pair_id,
        event.program_id,
        event.reason,
        event.detected_at,
    )


async def _needs_attention(event: se.PairNeedsAttention, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO pair_flags (pair_id, program_id, attention_reason, attention_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (pair_id) DO UPDATE SET attention_reason = EXCLUDED.attention_reason,"
        " attention_at = EXCLUDED.attention_at",
        event.pair_id,
        event.program_id,
        event.reason,
        event.detected_at,
    )


async def _assessed(event: ev.SkillsAssessed, _: EventEnvelope, db: Writes) -> None:
    await db.executemany(
        "INSERT INTO ratings VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (participant_id, phase, rated_by, skill) DO UPDATE SET level = EXCLUDED.level,"
        " assessed_at = EXCLUDED.assessed_at",
        [
            (
                event.participant_id,
                event.program_id,
                event.role,
                event.phase,
                event.by,
                rating.skill,
                rating.level,
                event.assessed_at,
            )
            for rating in event.ratings
        ],
    )
    await _assessed_at_the_end(event, db)


async def _assessed_at_the_end(event: ev.SkillsAssessed, db: Writes) -> None:
    if event.phase == "end":
        await db.execute(_milestone("final_assessed_at"), event.participant_id, event.program_id, event.assessed_at)


async def _feedback(event: ev.SessionFeedbackGiven, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO feedback VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, participant_id)"
        " DO UPDATE SET usefulness = EXCLUDED.usefulness, trust = EXCLUDED.trust, given_at = EXCLUDED.given_at",
        event.session_id,
        event.participant_id,
        event.program_id,
        event.usefulness,
        event.trust,
        event.at,
    )


async def _survey(event: ev.SurveyAnswered, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO surveys VALUES ($1, $2, $3, $4, $5) ON CONFLICT (program_id, participant_id) DO UPDATE SET"
        " satisfaction = EXCLUDED.satisfaction, recommendation = EXCLUDED.recommendation,"
        " answered_at = EXCLUDED.answered_at",
        event.participant_id,
        event.program_id,
        event.satisfaction,
        event.recommendation,
        event.at,
    )


async def _adopted(event: ev.PracticeAdopted, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO practices (practice_id, program_id, participant_id, adopted_on) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (practice_id) DO UPDATE SET adopted_on = EXCLUDED.adopted_on",
        event.practice_id,
        event.program_id,
        event.participant_id,
        event.adopted_on,
    )


async def _abandoned(event: ev.PracticeAbandoned, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO practices (practice_id, program_id, participant_id, abandoned_on) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (practice_id) DO UPDATE SET abandoned_on = EXCLUDED.abandoned_on",
        event.practice_id,
        event.program_id,
        event.participant_id,
        event.abandoned_on,
    )


async def _objective(event: ev.ObjectiveProgressed, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO objectives VALUES ($1, $2, $3, $4, $5) ON CONFLICT (program_id, participant_id, objective)"
        " DO UPDATE SET percent = EXCLUDED.percent, progressed_at = EXCLUDED.progressed_at",
        event.program_id,
        event.participant_id,
        event.objective,
        event.percent,
        event.at,
    )


async def _impact(event: ev.ProgramImpactUpdated, _: EventEnvelope, db: Writes) -> None:
    await db.execute(
        "INSERT INTO program_impact VALUES ($1, $2, $3::jsonb) ON CONFLICT (program_id) DO UPDATE SET"
        " computed_at = EXCLUDED.computed_at, impact = EXCLUDED.impact"
        " WHERE program_impact.computed_at <= EXCLUDED.computed_at",
        event.program_id,
        event.computed_at,
        event.model_dump_json(include={"skills", "adopted_share", "nps", "completion", "comparison"}),
    )


APPLY: dict[type[DomainEvent], Apply] = {
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
    se.PairAtRisk: _at_risk,
    se.PairNeedsAttention: _needs_attention,
    ev.SkillsAssessed: _assessed,
    ev.SessionFeedbackGiven: _feedback,
    ev.SurveyAnswered: _survey,
    ev.PracticeAdopted: _adopted,
    ev.PracticeAbandoned: _abandoned,
    ev.ObjectiveProgressed: _objective,
    ev.ProgramImpactUpdated: _impact,
}
"""Every type the readers decode has its effect here (a test holds the two lists together)."""


class Writes(Protocol):
    """What a handler does to the read model: statements, in order."""

    async def execute(self, sql: str, *args: Any) -> Any: ...

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> Any: ...


_EVERYTHING = "*"


@dataclass
class _Group:
    sql: str
    rows: list[Sequence[Any]] = field(default_factory=list)
    keys: set[Hashable] = field(default_factory=set)


class _Batch:
    """Statements of a batch of events, grouped so that each group runs as one `executemany`.

    A statement joins the last group with the same SQL when no group after that one touches any of
    the same rows (its `keys`: the ids its event names); so statements about one participant, pair
    or session keep their order, and statements about different ones, which commute, are grouped.
    A statement about every row (`_EVERYTHING`, e.g. a round's unmatched list) is a barrier.
    """

    def __init__(self) -> None:
        self.groups: list[_Group] = []
        self._last_with: dict[str, int] = {}
        self.keys: set[Hashable] = set()

    async def execute(self, sql: str, *args: Any) -> None:
        self._add(sql, args)

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        for row in args:
            self._add(sql, row)

    def _add(self, sql: str, row: Sequence[Any]) -> None:
        index = self._last_with.get(sql)
        if (
            index is not None
            and _EVERYTHING not in self.keys
            and not any(
                _EVERYTHING in later.keys or not later.keys.isdisjoint(self.keys) for later in self.groups[index + 1 :]
            )
        ):
            group = self.groups[index]
        else:
            group = _Group(sql)
            self.groups.append(group)
            self._last_with[sql] = len(self.groups) - 1
        group.rows.append(row)
        group.keys |= self.keys

    async def run(self, db: asyncpg.Connection) -> None:
        for group in self.groups:
            if len(group.rows) == 1:
                await db.execute(group.sql, *group.rows[0])
            else:
                await db.executemany(group.sql, group.rows)


_BARRIERS = (pa.PairingRoundCompleted,)


def _keys(event: DomainEvent) -> set[Hashable]:
    """The rows an event's statements touch: the ids it names (its program's only for program facts)."""
    if isinstance(event, _BARRIERS):
        return {_EVERYTHING}
    ids: set[Hashable] = {
        value for name, value in event.__dict__.items() if name.endswith("_id") and name != "program_id" and value
    }
    return ids or {getattr(event, "program_id", None)}


async def apply_events(events: Sequence[EventEnvelope], db: asyncpg.Connection) -> None:
    """Apply `events` in order (grouped into few statements, see `_Batch`), then note the last one
    applied from each source."""
    batch = _Batch()
    last: dict[str, EventEnvelope] = {}
    for envelope in events:
        batch.keys = _keys(envelope.payload)
        await APPLY[type(envelope.payload)](envelope.payload, envelope, batch)
        last[source_of(envelope.event_type)] = envelope
    await batch.run(db)
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
