"""The read model's tables (schema `reporting_read_v2`): facts as the four services reported them.

Each table is written by one source's events only, keyed by the ids those events carry, so facts
that arrive in any order across topics (a session held before reporting saw its pair activated)
land the same way; queries (`adapters.queries`) join them when asked. Participants' groups come
from enrollment; everything evaluation says is kept as scores, never text. `TABLES` declares the
fact tables again as the projection loads and writes them a batch at a time (kernel `ReadTable`).
"""

from __future__ import annotations

from collections.abc import Mapping

from tandem_kernel.read_tables import ReadTable

from tandem_reporting.adapters.overview_counts import (
    GROUP_DIMENSIONS,
    PAIR_MEASURES,
    PERSON_MEASURES,
    SESSION_STATUSES,
)

__all__ = ["DDL", "FACT_TABLES", "READ_SCHEMA", "TABLES"]

READ_SCHEMA = "reporting_read_v2"

DDL = """
CREATE TABLE programs (
    program_id uuid PRIMARY KEY,
    name text NOT NULL
);
CREATE TABLE participants (
    participant_id uuid PRIMARY KEY,
    program_id uuid NOT NULL,
    role text NOT NULL,
    department text,
    site text,
    country text,
    job_level int,
    enrolled_at timestamptz,
    status text NOT NULL DEFAULT 'enrolled',
    approved boolean NOT NULL DEFAULT false,
    unmatched boolean NOT NULL DEFAULT false
);
CREATE INDEX participants_program ON participants (program_id);
CREATE TABLE milestones (
    participant_id uuid PRIMARY KEY,
    program_id uuid NOT NULL,
    paired_at timestamptz,
    first_held_at timestamptz,
    final_assessed_at timestamptz
);
CREATE TABLE pairs (
    pair_id uuid PRIMARY KEY,
    program_id uuid NOT NULL,
    junior_id uuid NOT NULL,
    senior_id uuid NOT NULL,
    score double precision,
    proposed_at timestamptz,
    status text NOT NULL,
    activated_at timestamptz,
    ended_at timestamptz
);
CREATE INDEX pairs_program ON pairs (program_id);
CREATE INDEX pairs_junior ON pairs (junior_id);
CREATE INDEX pairs_senior ON pairs (senior_id);
CREATE TABLE sessions (
    session_id uuid PRIMARY KEY,
    pair_id uuid NOT NULL,
    program_id uuid NOT NULL,
    junior_id uuid NOT NULL,
    senior_id uuid NOT NULL,
    starts_at timestamptz,
    status text NOT NULL,
    held_at timestamptz
);
CREATE INDEX sessions_program ON sessions (program_id);
CREATE TABLE pair_flags (
    pair_id uuid PRIMARY KEY,
    program_id uuid NOT NULL,
    at_risk_reason text,
    at_risk_at timestamptz,
    attention_reason text,
    attention_at timestamptz
);
CREATE TABLE ratings (
    participant_id uuid NOT NULL,
    program_id uuid NOT NULL,
    role text NOT NULL,
    phase text NOT NULL,
    rated_by text NOT NULL,
    skill text NOT NULL,
    level int NOT NULL,
    assessed_at timestamptz NOT NULL,
    PRIMARY KEY (participant_id, phase, rated_by, skill)
);
CREATE INDEX ratings_program ON ratings (program_id);
CREATE TABLE feedback (
    session_id uuid NOT NULL,
    participant_id uuid NOT NULL,
    program_id uuid NOT NULL,
    usefulness int NOT NULL,
    trust int NOT NULL,
    given_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, participant_id)
);
CREATE INDEX feedback_program ON feedback (program_id);
CREATE TABLE surveys (
    participant_id uuid NOT NULL,
    program_id uuid NOT NULL,
    satisfaction int NOT NULL,
    recommendation int NOT NULL,
    answered_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, participant_id)
);
CREATE TABLE practices (
    practice_id uuid PRIMARY KEY,
    program_id uuid NOT NULL,
    participant_id uuid NOT NULL,
    adopted_on date,
    abandoned_on date
);
CREATE TABLE objectives (
    program_id uuid NOT NULL,
    participant_id uuid NOT NULL,
    objective text NOT NULL,
    percent int NOT NULL,
    progressed_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, participant_id, objective)
);
CREATE TABLE program_impact (
    program_id uuid PRIMARY KEY,
    computed_at timestamptz NOT NULL,
    impact jsonb NOT NULL
);
CREATE TABLE overview_counts (
    program_id uuid NOT NULL,
    dimension text NOT NULL,
    value text NOT NULL,
    {counts},
    score_sum numeric NOT NULL,
    PRIMARY KEY (program_id, dimension, value)
);
CREATE TABLE pair_sessions (
    pair_id uuid PRIMARY KEY,
    {sessions}
);
CREATE TABLE first_sessions (
    participant_id uuid PRIMARY KEY,
    program_id uuid NOT NULL,
    role text NOT NULL,
    department text,
    site text,
    country text,
    enrolled_at timestamptz NOT NULL,
    first_held_at timestamptz NOT NULL,
    days numeric GENERATED ALWAYS AS (extract(epoch FROM first_held_at - enrolled_at) / 86400) STORED
);
{first_sessions_indexes}
CREATE TABLE freshness (
    source text PRIMARY KEY,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    applied_at timestamptz NOT NULL
);
""".format(
    counts=",\n    ".join(
        f"{name} bigint NOT NULL" for name in (*PERSON_MEASURES, *PAIR_MEASURES) if name != "score_sum"
    ),
    sessions=",\n    ".join(f"{status} int NOT NULL" for status in SESSION_STATUSES),
    # The median of days to a first session, for the program or one group, read in order from these.
    first_sessions_indexes="\n".join(
        f"CREATE INDEX first_sessions_by_{name} ON first_sessions (program_id, {name}, days);"
        for name in GROUP_DIMENSIONS
    )
    + "\nCREATE INDEX first_sessions_in_order ON first_sessions (program_id, days);",
)

FACT_TABLES = (
    "programs",
    "participants",
    "milestones",
    "pairs",
    "sessions",
    "pair_flags",
    "ratings",
    "feedback",
    "surveys",
    "practices",
    "objectives",
    "program_impact",
    "overview_counts",
    "pair_sessions",
    "first_sessions",
)
"""Every table but `freshness` (whose `applied_at` is when, not what): a rebuild reproduces these exactly."""


def _table(table: str, key: str | tuple[str, ...], /, **columns: str) -> ReadTable:
    return ReadTable(table, key=key, columns=columns)


TABLES: Mapping[str, ReadTable] = {
    table.name: table
    for table in (
        _table("programs", "program_id", program_id="uuid", name="text"),
        _table(
            "participants",
            "participant_id",
            participant_id="uuid",
            program_id="uuid",
            role="text",
            department="text",
            site="text",
            country="text",
            job_level="int",
            enrolled_at="timestamptz",
            status="text",
            approved="boolean",
            unmatched="boolean",
        ),
        _table(
            "milestones",
            "participant_id",
            participant_id="uuid",
            program_id="uuid",
            paired_at="timestamptz",
            first_held_at="timestamptz",
            final_assessed_at="timestamptz",
        ),
        _table(
            "pairs",
            "pair_id",
            pair_id="uuid",
            program_id="uuid",
            junior_id="uuid",
            senior_id="uuid",
            score="double precision",
            proposed_at="timestamptz",
            status="text",
            activated_at="timestamptz",
            ended_at="timestamptz",
        ),
        _table(
            "sessions",
            "session_id",
            session_id="uuid",
            pair_id="uuid",
            program_id="uuid",
            junior_id="uuid",
            senior_id="uuid",
            starts_at="timestamptz",
            status="text",
            held_at="timestamptz",
        ),
        _table(
            "pair_flags",
            "pair_id",
            pair_id="uuid",
            program_id="uuid",
            at_risk_reason="text",
            at_risk_at="timestamptz",
            attention_reason="text",
            attention_at="timestamptz",
        ),
        _table(
            "ratings",
            ("participant_id", "phase", "rated_by", "skill"),
            participant_id="uuid",
            program_id="uuid",
            role="text",
            phase="text",
            rated_by="text",
            skill="text",
            level="int",
            assessed_at="timestamptz",
        ),
        _table(
            "feedback",
            ("session_id", "participant_id"),
            session_id="uuid",
            participant_id="uuid",
            program_id="uuid",
            usefulness="int",
            trust="int",
            given_at="timestamptz",
        ),
        _table(
            "surveys",
            ("program_id", "participant_id"),
            participant_id="uuid",
            program_id="uuid",
            satisfaction="int",
            recommendation="int",
            answered_at="timestamptz",
        ),
        _table(
            "practices",
            "practice_id",
            practice_id="uuid",
            program_id="uuid",
            participant_id="uuid",
            adopted_on="date",
            abandoned_on="date",
        ),
        _table(
            "objectives",
            ("program_id", "participant_id", "objective"),
            program_id="uuid",
            participant_id="uuid",
            objective="text",
            percent="int",
            progressed_at="timestamptz",
        ),
        _table("program_impact", "program_id", program_id="uuid", computed_at="timestamptz", impact="jsonb"),
    )
}
"""Every fact table, as the fold reads and writes it."""
