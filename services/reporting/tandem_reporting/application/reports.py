"""The reports: read-model figures put together, rates computed, small groups suppressed.

Counts of people, pairs and sessions are shown for any group; figures derived from feedback,
assessments and surveys go through `domain.privacy` (released cells, k = 5).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from tandem_reporting.adapters import queries
from tandem_reporting.domain.filters import Filters, rate
from tandem_reporting.domain.privacy import FEWER_THAN_K, Cell, Figure, K, answer

__all__ = ["breakdown", "impact", "overview", "pair_health", "weekly"]

FUNNEL_STAGES = ("enrolled", "approved", "paired", "first_session_held", "final_assessment")


async def overview(db: asyncpg.Connection, program_id: UUID, filters: Filters) -> dict[str, Any]:
    """Funnel with rates, proposals, match rate per role, sessions, pairs and silo-breaking shares."""
    if (group := filters.counted_group()) is not None:
        counts, pairs, sessions = await queries.counted_overview(db, program_id, *group)
    else:
        counts = await queries.funnel_counts(db, program_id, filters)
        pairs = await queries.pair_counts(db, program_id, filters)
        sessions = await queries.session_counts(db, program_id, filters)
    funnel = []
    previous = None
    for stage in FUNNEL_STAGES:
        count = int(counts.get(stage) or 0)
        funnel.append(
            {
                "stage": stage,
                "count": count,
                "rate_of_enrolled": rate(count, int(counts.get("enrolled") or 0)),
                "rate_of_previous": rate(count, previous) if previous is not None else None,
            }
        )
        previous = count
    decided = pairs["accepted"] + pairs["declined"] + pairs["expired"]
    median = counts.get("median_days_to_first_session")
    return {
        "funnel": funnel,
        "proposals": {
            "proposed": pairs["proposed"],
            "accepted": pairs["accepted"],
            "declined": pairs["declined"],
            "expired": pairs["expired"],
            "acceptance_rate": rate(pairs["accepted"], decided),
        },
        "match_rate": {
            "junior": rate(counts["paired_juniors"], counts["approved_juniors"]),
            "senior": rate(counts["paired_seniors"], counts["approved_seniors"]),
            "unmatched_rate": rate(counts["unmatched"], counts["approved"]),
            "mean_score": round(pairs["mean_score"], 4) if pairs["mean_score"] is not None else None,
        },
        "sessions": sessions,
        "pairs": {
            "active": pairs["active"],
            "at_risk": pairs["at_risk"],
            "needs_attention": pairs["needs_attention"],
            "cross_department_share": rate(pairs["cross_department"], pairs["accepted"]),
            "cross_site_share": rate(pairs["cross_site"], pairs["accepted"]),
        },
        "median_days_to_first_session": round(median, 2) if median is not None else None,
    }


async def breakdown(db: asyncpg.Connection, program_id: UUID, dimension: str, filters: Filters) -> list[dict[str, Any]]:
    """The overview for each value of `dimension`, within `filters`."""
    groups = []
    for value in await queries.dimension_values(db, program_id, dimension):
        narrowed = Filters(**{**filters.__dict__, dimension: value})
        groups.append({"group": str(value), **await overview(db, program_id, narrowed)})
    return groups


def _figure(cells: list[Cell], filters: Filters, **means: tuple[str, str | None]) -> dict[str, Any]:
    """`means`: output name → (sum, denominator sum or None for people). Suppressed: values None."""
    figure = answer(cells, filters.groups())
    if not isinstance(figure, Figure):
        return {"people": None, "suppressed": FEWER_THAN_K, **dict.fromkeys(means)}
    return {
        "people": figure.people,
        "suppressed": None,
        **{name: round(figure.mean(total, over), 3) for name, (total, over) in means.items()},
    }


async def impact(db: asyncpg.Connection, program_id: UUID, filters: Filters) -> dict[str, Any]:
    """Skill deltas per skill and role, feedback, satisfaction and NPS, practices, objectives, and
    evaluation's own program impact; each suppressed under k people."""
    roles = [filters.role] if filters.role else ["junior", "senior"]
    skills = []
    for skill, cells in sorted((await queries.contributor_cells(db, program_id, "skills")).items()):
        for role in roles:
            narrowed = Filters(**{**filters.__dict__, "role": role})
            skills.append({"skill": skill, "role": role, **_figure(cells, narrowed, mean_delta=("delta", None))})
    feedback = (await queries.contributor_cells(db, program_id, "feedback")).get("", [])
    survey = (await queries.contributor_cells(db, program_id, "survey")).get("", [])
    objectives = (await queries.contributor_cells(db, program_id, "objectives")).get("", [])
    practices = (await queries.contributor_cells(db, program_id, "practices")).get("", [])
    survey_figure = _figure(survey, filters, satisfaction=("satisfaction", None))
    nps = _figure(survey, filters, promoters=("promoters", None), detractors=("detractors", None))
    survey_figure["nps"] = round(100 * (nps["promoters"] - nps["detractors"]), 1) if nps["suppressed"] is None else None
    return {
        "skills": skills,
        "feedback": _figure(feedback, filters, usefulness=("usefulness", "answers"), trust=("trust", "answers")),
        "survey": survey_figure,
        "practices": _figure(practices, filters, adopted_per_person=("adopted", None), kept_per_person=("kept", None)),
        "objectives": _figure(objectives, filters, mean_progress_percent=("percent", "objectives")),
        "evaluation": _evaluation(await queries.impact_document(db, program_id), filters),
        "dates_apply": False,
    }


def _evaluation(document: dict[str, Any] | None, filters: Filters) -> dict[str, Any] | None:
    """Evaluation's program-wide impact: only for the whole program; entries under k people suppressed."""
    if document is None or any(value is not None for value in filters.groups().values()):
        return None

    skills = [
        {**entry, **({} if entry["n"] >= K else {"mean_delta": None, "ci_low": None, "ci_high": None})}
        | {"suppressed": None if entry["n"] >= K else FEWER_THAN_K}
        for entry in document["skills"]
    ]
    comparison = [
        entry | {"suppressed": None}
        if min(entry["paired_n"], entry["unpaired_n"]) >= K
        else {
            "skill": entry["skill"],
            "paired_n": None,
            "unpaired_n": None,
            "estimate": None,
            "ci_low": None,
            "ci_high": None,
            "statement": "",
            "suppressed": FEWER_THAN_K,
        }
        for entry in document["comparison"]
    ]
    return {**document, "skills": skills, "comparison": comparison}


async def weekly(db: asyncpg.Connection, program_id: UUID, filters: Filters) -> list[dict[str, Any]]:
    """Enrollments, sessions held and feedback per week. Feedback counts only for the whole program,
    and only in weeks with k people or more giving it."""

    whole_program = not any(value is not None for value in filters.groups().values())
    series = []
    for row in await queries.weekly(db, program_id, filters):
        shown = whole_program and row["feedback_people"] >= K
        series.append(
            {
                "week": row["week"],
                "enrollments": row["enrollments"],
                "sessions_held": row["sessions_held"],
                "feedback": row["feedback"] if shown else None,
                "feedback_suppressed": None if shown or row["feedback"] == 0 else FEWER_THAN_K,
            }
        )
    return series


async def pair_health(db: asyncpg.Connection, program_id: UUID, now: datetime) -> list[dict[str, Any]]:
    """Active pairs at risk or needing attention, with days since their last held session (or since
    they started, if none yet)."""
    rows = await queries.pair_health(db, program_id)
    for row in rows:
        since = row["last_held_at"] or row["activated_at"]
        row["days_since_last_session"] = (now - since).days if since is not None else None
    return rows
