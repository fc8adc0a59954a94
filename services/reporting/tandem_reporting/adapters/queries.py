"""The read model's SQL: figures for a program, narrowed by `Filters`, straight from the fact tables.

Every query starts from the same participant selection (`_PEOPLE`), so funnel, pairs, sessions and
series agree on who is counted. A pair counts when either member is selected; a session when its
pair does (and it starts in the date window).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any
from uuid import UUID

import asyncpg
from tandem_kernel.database import reading

from tandem_reporting.adapters.overview_counts import (
    GROUP_DIMENSIONS,
    PAIR_MEASURES,
    PERSON_MEASURES,
    SESSION_STATUSES,
)
from tandem_reporting.adapters.tables import READ_SCHEMA
from tandem_reporting.domain.filters import Filters
from tandem_reporting.domain.privacy import Cell

__all__ = [
    "contributor_cells",
    "counted_overview",
    "dimension_values",
    "freshness",
    "funnel_counts",
    "impact_document",
    "pair_counts",
    "pair_health",
    "program_known",
    "programs",
    "reading",
    "session_counts",
    "weekly",
]


_PEOPLE = f"""
people AS (
    SELECT p.participant_id, p.role, p.approved, p.unmatched, p.enrolled_at FROM {READ_SCHEMA}.participants p
    WHERE p.program_id = $1
      AND ($2::text IS NULL OR p.department = $2) AND ($3::text IS NULL OR p.site = $3)
      AND ($4::text IS NULL OR p.country = $4) AND ($5::text IS NULL OR p.role = $5)
      AND ($6::int IS NULL OR p.job_level = $6)
      AND ($7::timestamptz IS NULL OR p.enrolled_at >= $7) AND ($8::timestamptz IS NULL OR p.enrolled_at < $8)
),
selected_pairs AS (
    SELECT pr.pair_id, pr.junior_id, pr.senior_id, pr.score, pr.status, pr.activated_at FROM {READ_SCHEMA}.pairs pr
    WHERE pr.program_id = $1 AND (pr.junior_id IN (SELECT participant_id FROM people)
                                  OR pr.senior_id IN (SELECT participant_id FROM people))
)"""


def _arguments(program_id: UUID, filters: Filters) -> list[Any]:
    def moment(day: Any) -> datetime | None:
        return datetime.combine(day, time(), tzinfo=UTC) if day is not None else None

    return [
        program_id,
        filters.department,
        filters.site,
        filters.country.upper() if filters.country else None,
        filters.role,
        filters.job_level,
        moment(filters.since),
        moment(filters.until),
    ]


_FUNNEL = f"""
WITH {_PEOPLE}
SELECT
    count(*) AS enrolled,
    count(*) FILTER (WHERE people.approved) AS approved,
    count(m.paired_at) FILTER (WHERE people.approved) AS paired,
    count(m.first_held_at) FILTER (WHERE people.approved) AS first_session_held,
    count(m.final_assessed_at) FILTER (WHERE people.approved) AS final_assessment,
    count(*) FILTER (WHERE people.approved AND people.role = 'junior') AS approved_juniors,
    count(*) FILTER (WHERE people.approved AND people.role = 'senior') AS approved_seniors,
    count(m.paired_at) FILTER (WHERE people.approved AND people.role = 'junior') AS paired_juniors,
    count(m.paired_at) FILTER (WHERE people.approved AND people.role = 'senior') AS paired_seniors,
    count(*) FILTER (WHERE people.approved AND people.unmatched) AS unmatched,
    percentile_cont(0.5) WITHIN GROUP (
        ORDER BY extract(epoch FROM m.first_held_at - people.enrolled_at) / 86400
    ) AS median_days_to_first_session
FROM people
LEFT JOIN {READ_SCHEMA}.milestones m USING (participant_id)
"""


async def funnel_counts(db: asyncpg.Connection, program_id: UUID, filters: Filters) -> dict[str, Any]:
    row = await db.fetchrow(_FUNNEL, *_arguments(program_id, filters))
    return dict(row) if row else {}


_PAIRS = f"""
WITH {_PEOPLE}
SELECT
    count(*) AS proposed,
    count(*) FILTER (WHERE pr.activated_at IS NOT NULL) AS accepted,
    count(*) FILTER (WHERE pr.status = 'declined') AS declined,
    count(*) FILTER (WHERE pr.status = 'expired') AS expired,
    count(*) FILTER (WHERE pr.status = 'active') AS active,
    count(*) FILTER (WHERE pr.status = 'active' AND f.at_risk_at IS NOT NULL) AS at_risk,
    count(*) FILTER (WHERE pr.status = 'active' AND f.attention_at IS NOT NULL) AS needs_attention,
    avg(pr.score) AS mean_score,
    count(*) FILTER (WHERE pr.activated_at IS NOT NULL AND j.department <> s.department) AS cross_department,
    count(*) FILTER (WHERE pr.activated_at IS NOT NULL AND j.site <> s.site) AS cross_site
FROM selected_pairs pr
LEFT JOIN {READ_SCHEMA}.pair_flags f USING (pair_id)
LEFT JOIN {READ_SCHEMA}.participants j ON j.participant_id = pr.junior_id
LEFT JOIN {READ_SCHEMA}.participants s ON s.participant_id = pr.senior_id
"""


async def pair_counts(db: asyncpg.Connection, program_id: UUID, filters: Filters) -> dict[str, Any]:
    row = await db.fetchrow(_PAIRS, *_arguments(program_id, filters))
    return dict(row) if row else {}


_SESSIONS = f"""
WITH {_PEOPLE}
SELECT status, count(*) AS sessions FROM {READ_SCHEMA}.sessions s
WHERE s.pair_id IN (SELECT pair_id FROM selected_pairs)
  AND ($7::timestamptz IS NULL OR s.starts_at >= $7) AND ($8::timestamptz IS NULL OR s.starts_at < $8)
GROUP BY status
"""


async def session_counts(db: asyncpg.Connection, program_id: UUID, filters: Filters) -> dict[str, int]:
    rows = await db.fetch(_SESSIONS, *_arguments(program_id, filters))
    counts = dict.fromkeys(("planned", "held", "missed", "cancelled"), 0)
    counts.update({row["status"]: row["sessions"] for row in rows})
    return counts


_COUNTS = f"""
SELECT *, (score_sum / nullif(scored, 0))::float8 AS mean_score FROM {READ_SCHEMA}.overview_counts
WHERE program_id = $1 AND dimension = $2 AND value = $3
"""

# The middle one or two of the group's days to a first session, in order (an index scan), and the
# median of those: the very figure percentile_cont gives over all of them.
_MEDIAN = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY days) FROM (
    SELECT days FROM {schema}.first_sessions WHERE program_id = $1 {group} ORDER BY days OFFSET $2 LIMIT $3
) AS middle
"""


async def counted_overview(
    db: asyncpg.Connection, program_id: UUID, dimension: str, value: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, int]]:
    """`funnel_counts`, `pair_counts` and `session_counts` for the program or one group, from the
    counts kept on write (`overview_counts`): a row or two instead of the program's every row."""
    row = await db.fetchrow(_COUNTS, program_id, dimension, value)
    counts: dict[str, Any] = dict(row) if row else {}
    measured = {name: int(counts.get(name) or 0) for name in (*PERSON_MEASURES, *PAIR_MEASURES) if name != "score_sum"}
    funnel: dict[str, Any] = {name: measured[name] for name in PERSON_MEASURES}
    funnel["median_days_to_first_session"] = None
    if (timed := measured["with_first_session_days"]) > 0:
        assert dimension in ("", *GROUP_DIMENSIONS)
        group = f"AND {dimension} = $4" if dimension else ""
        median = _MEDIAN.format(schema=READ_SCHEMA, group=group)
        arguments = [program_id, (timed - 1) // 2, 2 - timed % 2] + ([value] if dimension else [])
        funnel["median_days_to_first_session"] = await db.fetchval(median, *arguments)
    pairs: dict[str, Any] = {name: measured[name] for name in PAIR_MEASURES if name != "score_sum"}
    pairs["mean_score"] = counts.get("mean_score")
    sessions = {status: measured[f"sessions_{status}"] for status in SESSION_STATUSES}
    return funnel, pairs, sessions


_WEEKLY = f"""
WITH {_PEOPLE},
enrolled AS (SELECT date_trunc('week', enrolled_at) AS week, count(*) AS n FROM people GROUP BY 1),
held AS (
    SELECT date_trunc('week', held_at) AS week, count(*) AS n FROM {READ_SCHEMA}.sessions s
    WHERE s.status = 'held' AND s.pair_id IN (SELECT pair_id FROM selected_pairs)
      AND ($7::timestamptz IS NULL OR s.starts_at >= $7) AND ($8::timestamptz IS NULL OR s.starts_at < $8)
    GROUP BY 1
),
feedback AS (
    SELECT date_trunc('week', given_at) AS week, count(*) AS n, count(DISTINCT participant_id) AS people
    FROM {READ_SCHEMA}.feedback WHERE program_id = $1 GROUP BY 1
)
SELECT week::date AS week, coalesce(enrolled.n, 0) AS enrollments, coalesce(held.n, 0) AS sessions_held,
       coalesce(feedback.n, 0) AS feedback, coalesce(feedback.people, 0) AS feedback_people
FROM enrolled FULL JOIN held USING (week) FULL JOIN feedback USING (week)
ORDER BY week
"""


async def weekly(db: asyncpg.Connection, program_id: UUID, filters: Filters) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch(_WEEKLY, *_arguments(program_id, filters))]


async def dimension_values(db: asyncpg.Connection, program_id: UUID, dimension: str) -> list[Any]:
    """The values `dimension` takes among the program's participants (a known column name only)."""
    assert dimension in ("department", "site", "country", "role", "job_level")
    rows = await db.fetch(
        f"SELECT DISTINCT {dimension} AS value FROM {READ_SCHEMA}.participants"
        f" WHERE program_id = $1 AND {dimension} IS NOT NULL ORDER BY 1",
        program_id,
    )
    return [row["value"] for row in rows]


_CELLS = f"""
SELECT p.role, p.department, p.site, p.country, count(DISTINCT c.participant_id) AS people, {{sums}}
FROM ({{contributions}}) AS c
JOIN {READ_SCHEMA}.participants p USING (participant_id)
GROUP BY p.role, p.department, p.site, p.country{{extra_group}}
"""

_CONTRIBUTIONS: dict[str, tuple[str, str]] = {
    # family: (rows with participant_id and the values, the sums)
    "feedback": (
        f"SELECT participant_id, usefulness, trust FROM {READ_SCHEMA}.feedback WHERE program_id = $1",
        "count(*)::float8 AS answers, sum(usefulness)::float8 AS usefulness, sum(trust)::float8 AS trust",
    ),
    "survey": (
        f"SELECT participant_id, satisfaction, recommendation FROM {READ_SCHEMA}.surveys WHERE program_id = $1",
        "sum(satisfaction)::float8 AS satisfaction,"
        " count(*) FILTER (WHERE recommendation >= 9)::float8 AS promoters,"
        " count(*) FILTER (WHERE recommendation <= 6)::float8 AS detractors",
    ),
    "objectives": (
        f"SELECT participant_id, percent FROM {READ_SCHEMA}.objectives WHERE program_id = $1",
        "count(*)::float8 AS objectives, sum(percent)::float8 AS percent",
    ),
    "practices": (
        f"SELECT participant_id, practice_id, abandoned_on FROM {READ_SCHEMA}.practices"
        " WHERE program_id = $1 AND adopted_on IS NOT NULL",
        "count(*)::float8 AS adopted, count(*) FILTER (WHERE abandoned_on IS NULL)::float8 AS kept",
    ),
    "skills": (
        f"SELECT b.participant_id, b.skill, (e.level - b.level) AS delta FROM {READ_SCHEMA}.ratings b"
        f" JOIN {READ_SCHEMA}.ratings e ON e.participant_id = b.participant_id AND e.skill = b.skill"
        "  AND e.rated_by = 'self' AND e.phase = 'end'"
        " WHERE b.program_id = $1 AND b.phase = 'baseline' AND b.rated_by = 'self'",
        "sum(delta)::float8 AS delta, c.skill AS skill",
    ),
}


async def contributor_cells(db: asyncpg.Connection, program_id: UUID, family: str) -> dict[str, list[Cell]]:
    """The contributors to a family of figures in cells (see `domain.privacy`), by skill for `skills`
    (one list under "" otherwise)."""
    contributions, sums = _CONTRIBUTIONS[family]
    extra = ", c.skill" if family == "skills" else ""
    rows = await db.fetch(_CELLS.format(sums=sums, contributions=contributions, extra_group=extra), program_id)
    cells: dict[str, list[Cell]] = {}
    for row in rows:
        values = dict(row)
        key = (values.pop("role"), values.pop("department"), values.pop("site"), values.pop("country"))
        people = values.pop("people")
        skill = values.pop("skill", "")
        cells.setdefault(skill, []).append(Cell(key, people, {name: float(v or 0) for name, v in values.items()}))
    return cells


async def impact_document(db: asyncpg.Connection, program_id: UUID) -> dict[str, Any] | None:
    row = await db.fetchrow(
        f"SELECT computed_at, impact::text AS impact FROM {READ_SCHEMA}.program_impact WHERE program_id = $1",
        program_id,
    )
    if row is None:
        return None
    return {"computed_at": row["computed_at"], **json.loads(row["impact"])}


_HEALTH = f"""
SELECT pr.pair_id, pr.junior_id, pr.senior_id, pr.activated_at,
       f.at_risk_reason, f.at_risk_at, f.attention_reason, f.attention_at,
       (SELECT max(s.held_at) FROM {READ_SCHEMA}.sessions s WHERE s.pair_id = pr.pair_id AND s.status = 'held')
           AS last_held_at
FROM {READ_SCHEMA}.pairs pr JOIN {READ_SCHEMA}.pair_flags f USING (pair_id)
WHERE pr.program_id = $1 AND pr.status = 'active' AND (f.at_risk_at IS NOT NULL OR f.attention_at IS NOT NULL)
ORDER BY coalesce(f.at_risk_at, f.attention_at), pr.pair_id
"""


async def pair_health(db: asyncpg.Connection, program_id: UUID) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch(_HEALTH, program_id)]


async def program_known(db: asyncpg.Connection, program_id: UUID) -> bool:
    return bool(await db.fetchval(f"SELECT true FROM {READ_SCHEMA}.programs WHERE program_id = $1", program_id))


async def programs(db: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await db.fetch(
        f"SELECT pg.program_id, pg.name, coalesce(c.enrolled, 0) AS participants FROM {READ_SCHEMA}.programs pg"
        f" LEFT JOIN {READ_SCHEMA}.overview_counts c ON c.program_id = pg.program_id AND c.dimension = ''"
        " ORDER BY pg.name"
    )
    return [dict(row) for row in rows]


async def freshness(db: asyncpg.Connection) -> dict[str, dict[str, Any]]:
    rows = await db.fetch(f"SELECT source, event_id, event_type, occurred_at, applied_at FROM {READ_SCHEMA}.freshness")
    return {row["source"]: {k: row[k] for k in ("event_id", "event_type", "occurred_at", "applied_at")} for row in rows}
