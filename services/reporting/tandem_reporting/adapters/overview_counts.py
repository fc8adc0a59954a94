"""The program overview's counts, kept on write per (program, group): pure, no I/O.

The overview (`application.reports.overview`) counts a program's people, pairs and sessions, for
the whole program or narrowed to a group. Counting them at each request scans every participant,
pair and session of the program; so the projection keeps the counts as it applies events, one row
per (program, dimension, value) in `overview_counts` (dimension "" and value "" for the whole
program), and the overview reads one row. Filters the counts cannot answer (dates, job level,
several groups at once) still count from the fact tables (`adapters.queries`); a test holds both
ways to the same answers.

How the counts stay right whatever the order of events: each person and each pair *contributes*
to some groups' counts, a pure function of their rows (`person_counts`, `pair_counts`). A batch
computes, for every person and pair whose rows it changed, the contribution before and after, and
adds the difference (`Tally`). What counts is exactly what the SQL of `adapters.queries` counts:
a person by their own groups; a pair in every group either member (of the pair's program) is in,
with its sessions (`pair_sessions`: a pair's sessions by status); the median of days to the first
session from `first_sessions`, one row per person who had one, ordered by an index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal
from typing import Any

from tandem_kernel.read_tables import ReadTable, Row

__all__ = [
    "FIRST_SESSIONS",
    "GROUP_DIMENSIONS",
    "OVERVIEW_COUNTS",
    "PAIR_MEASURES",
    "PAIR_SESSIONS",
    "PERSON_MEASURES",
    "SESSION_STATUSES",
    "Tally",
    "first_session",
    "pair_counts",
    "person_counts",
    "regrouped",
]

GROUP_DIMENSIONS = ("department", "site", "country", "role")
"""The groups counts are kept for (job level and dates are answered from the fact tables)."""

PERSON_MEASURES = (
    "enrolled",
    "approved",
    "paired",
    "first_session_held",
    "final_assessment",
    "approved_juniors",
    "approved_seniors",
    "paired_juniors",
    "paired_seniors",
    "unmatched",
    "with_first_session_days",
)
SESSION_STATUSES = ("planned", "held", "missed", "cancelled")
PAIR_MEASURES = (
    "proposed",
    "accepted",
    "declined",
    "expired",
    "active",
    "at_risk",
    "needs_attention",
    "scored",
    "score_sum",
    "cross_department",
    "cross_site",
    *(f"sessions_{status}" for status in SESSION_STATUSES),
)

OVERVIEW_COUNTS = ReadTable(
    "overview_counts",
    key=("program_id", "dimension", "value"),
    columns={"program_id": "uuid", "dimension": "text", "value": "text"}
    | {measure: "bigint" for measure in (*PERSON_MEASURES, *PAIR_MEASURES) if measure != "score_sum"}
    | {"score_sum": "numeric"},
)
PAIR_SESSIONS = ReadTable(
    "pair_sessions", key="pair_id", columns={"pair_id": "uuid"} | dict.fromkeys(SESSION_STATUSES, "int")
)
FIRST_SESSIONS = ReadTable(
    "first_sessions",
    key="participant_id",
    columns={
        "participant_id": "uuid",
        "program_id": "uuid",
        "role": "text",
        "department": "text",
        "site": "text",
        "country": "text",
        "enrolled_at": "timestamptz",
        "first_held_at": "timestamptz",
    },  # and `days`, generated from the two: the very expression the median was taken of
)

Group = tuple[Any, str, str]  # program, dimension, value
Contribution = tuple[Any, frozenset[tuple[str, str]], dict[str, Any]]  # program, groups, measures


def _groups(people: Iterable[Row]) -> frozenset[tuple[str, str]]:
    """The whole program, and every group one of `people` is in (a group left empty counts no one)."""
    groups = {("", "")}
    for person in people:
        groups |= {(dimension, person[dimension]) for dimension in GROUP_DIMENSIONS if person[dimension] is not None}
    return frozenset(groups)


def person_counts(person: Row | None, milestones: Row | None) -> Contribution | None:
    """What one participant adds to their program's funnel (`queries._FUNNEL`), in their groups."""
    if person is None:
        return None
    reached = milestones or {}
    approved = person["approved"]
    paired = approved and reached.get("paired_at") is not None
    junior, senior = person["role"] == "junior", person["role"] == "senior"
    measures = {
        "enrolled": 1,
        "approved": approved,
        "paired": paired,
        "first_session_held": approved and reached.get("first_held_at") is not None,
        "final_assessment": approved and reached.get("final_assessed_at") is not None,
        "approved_juniors": approved and junior,
        "approved_seniors": approved and senior,
        "paired_juniors": paired and junior,
        "paired_seniors": paired and senior,
        "unmatched": approved and person["unmatched"],
        "with_first_session_days": _has_first_session(person, milestones),
    }
    return person["program_id"], _groups([person]), {name: int(value) for name, value in measures.items()}


def _has_first_session(person: Row | None, milestones: Row | None) -> bool:
    """Whether the person has days to a first session to count (a row of `first_sessions`)."""
    return not (
        person is None or milestones is None or milestones["first_held_at"] is None or person["enrolled_at"] is None
    )


def first_session(person: Row | None, milestones: Row | None) -> Row | None:
    """The person's row of `first_sessions`, when they have days to a first session to count."""
    if not _has_first_session(person, milestones):
        return None
    assert person is not None and milestones is not None
    return {column: person.get(column) for column in FIRST_SESSIONS.columns} | {
        "first_held_at": milestones["first_held_at"]
    }


def pair_counts(
    pair: Row | None, flags: Row | None, sessions: Row | None, junior: Row | None, senior: Row | None
) -> Contribution | None:
    """What one pair adds to its program's proposals, pairs and sessions (`queries._PAIRS`,
    `queries._SESSIONS`), in every group either member of the program is in; none without one."""
    if pair is None:
        return None
    members = [
        person for person in (junior, senior) if person is not None and person["program_id"] == pair["program_id"]
    ]
    if not members:
        return None
    activated, active, status = pair["activated_at"] is not None, pair["status"] == "active", pair["status"]

    def across(dimension: str) -> bool:
        # Members joined whatever their program, as the query does; an unknown group is no difference.
        values = [person[dimension] if person else None for person in (junior, senior)]
        return activated and None not in values and values[0] != values[1]

    measures: dict[str, Any] = {
        "proposed": 1,
        "accepted": activated,
        "declined": status == "declined",
        "expired": status == "expired",
        "active": active,
        "at_risk": active and flags is not None and flags["at_risk_at"] is not None,
        "needs_attention": active and flags is not None and flags["attention_at"] is not None,
        "scored": pair["score"] is not None,
        "cross_department": across("department"),
        "cross_site": across("site"),
        **{f"sessions_{status}": (sessions or {}).get(status) or 0 for status in SESSION_STATUSES},
    }
    measures = {name: int(value) for name, value in measures.items()}
    # Exact: a float's decimal expansion is finite, and numeric sums it without rounding (`Tally`).
    measures["score_sum"] = Decimal(pair["score"]) if pair["score"] is not None else Decimal(0)
    return pair["program_id"], _groups(members), measures


# As exact as numeric: a float's expansion has up to ~770 significant digits (most far fewer).
_EXACT = Context(prec=2000)


class Tally:
    """The changes to `overview_counts` of a batch: contributions added and taken back."""

    def __init__(self) -> None:
        # Summed per program and set of groups first, then into each group of the set (`rows`): many
        # people and pairs of a batch share one set of groups, and each set has five to nine groups.
        self._sums: dict[tuple[Any, frozenset[tuple[str, str]]], dict[str, Any]] = defaultdict(dict)

    def change(self, before: Contribution | None, after: Contribution | None) -> None:
        if before == after:
            return
        if before is not None and after is not None and before[:2] == after[:2]:
            # Most changes leave the program and groups as they were: add the difference of the
            # measures (what taking `before` back and adding `after` adds).
            program, groups, measures = after
            self._add(program, groups, _difference(before[2], measures))
            return
        for contribution, sign in ((before, -1), (after, 1)):
            if contribution is None:
                continue
            program, groups, measures = contribution
            if sign < 0:
                measures = {
                    name: amount.copy_negate() if name == "score_sum" else -amount for name, amount in measures.items()
                }
            self._add(program, groups, measures)

    def _add(self, program: Any, groups: frozenset[tuple[str, str]], measures: dict[str, Any]) -> None:
        _sum_into(self._sums[(program, groups)], measures)

    def rows(self) -> list[Row]:
        """The deltas as rows of `overview_counts` (every measure, zero where unchanged)."""
        deltas: dict[Group, dict[str, Any]] = defaultdict(dict)
        for (program, groups), sums in self._sums.items():
            for dimension, value in groups:
                _sum_into(deltas[(program, dimension, value)], sums)
        rows = []
        for (program, dimension, value), delta in deltas.items():
            if any(delta.values()):
                measures = dict.fromkeys((*PERSON_MEASURES, *PAIR_MEASURES), 0) | {"score_sum": Decimal(0)} | delta
                rows.append({"program_id": program, "dimension": dimension, "value": value} | measures)
        return rows


def _sum_into(sums: dict[str, Any], measures: dict[str, Any]) -> None:
    """Add `measures` to `sums`: counts left out where zero, the score sum exactly (`_EXACT`) even then."""
    for name, amount in measures.items():
        if name == "score_sum":
            sums[name] = _EXACT.add(sums.get(name, Decimal(0)), amount)
        elif amount:
            sums[name] = sums.get(name, 0) + amount


def _difference(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`after` less `before`, measure by measure (both contributions have the same measures)."""
    difference = {name: amount - before[name] for name, amount in after.items() if name != "score_sum"}
    if "score_sum" in after:
        difference["score_sum"] = _EXACT.subtract(after["score_sum"], before["score_sum"])
    return difference


def regrouped(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    """Whether a person's change moves the pairs they are in (their program or a group)."""
    if before is None or after is None:
        return before is not after
    return any(before[name] != after[name] for name in ("program_id", *GROUP_DIMENSIONS))
