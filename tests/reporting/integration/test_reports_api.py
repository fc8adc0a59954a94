"""Reports over HTTP, fed through the real broker: the figures are the history's, every answer says
how fresh it is and can wait for an event the caller caused, CSV exports the same figures, and the
identity rules hold."""

from __future__ import annotations

import csv
import io
from statistics import median
from uuid import uuid4

import pytest
from reporting.integration.conftest import Reporting
from tandem_kernel.testing import TokenBook

pytestmark = [pytest.mark.broker, pytest.mark.asyncio(loop_scope="module")]


async def test_the_overview_has_the_historys_funnel_and_sessions(reporting: Reporting) -> None:
    program = reporting.history.programs[0]
    response = await reporting.http.get(
        f"/programs/{program}/overview", params={"after": reporting.last_event_id, "wait": 10}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["freshness"]["after"]["applied"] is True
    people = [p for p in reporting.history.people.values() if p.program_id == program]
    funnel = {stage["stage"]: stage["count"] for stage in body["report"]["funnel"]}
    assert funnel == {
        "enrolled": len(people),
        "approved": sum(p.approved for p in people),
        "paired": sum(p.paired for p in people),
        "first_session_held": sum(p.first_held_at is not None for p in people),
        "final_assessment": sum(p.final_assessed for p in people),
    }
    days = [(p.first_held_at - p.enrolled_at).total_seconds() / 86400 for p in people if p.first_held_at]
    assert body["report"]["median_days_to_first_session"] == pytest.approx(median(days), abs=0.01)
    assert set(body["freshness"]["sources"]) == {"enrollment", "pairing", "sessions", "evaluation"}


async def test_sessions_across_programs_add_up_to_the_history(reporting: Reporting) -> None:
    totals = dict.fromkeys(("planned", "held", "missed", "cancelled"), 0)
    for program in reporting.history.programs:
        body = (
            await reporting.http.get(f"/programs/{program}/overview", params={"after": reporting.last_event_id})
        ).json()
        for status, count in body["report"]["sessions"].items():
            totals[status] += count

    assert totals == reporting.history.sessions


async def test_a_filter_narrows_every_figure_to_the_group(reporting: Reporting) -> None:
    program = reporting.history.programs[0]
    body = (await reporting.http.get(f"/programs/{program}/overview", params={"department": "IT"})).json()

    enrolled = body["report"]["funnel"][0]["count"]
    assert enrolled == reporting.history.count(program_id=program, department="IT")
    assert body["filters"]["department"] == "IT"


async def test_a_breakdown_by_site_sums_to_the_whole_program(reporting: Reporting) -> None:
    program = reporting.history.programs[0]
    groups = (await reporting.http.get(f"/programs/{program}/breakdowns/site")).json()["report"]

    assert {group["group"] for group in groups} <= {"Lyon", "Paris", "Madrid"}
    assert sum(group["funnel"][0]["count"] for group in groups) == reporting.history.count(program_id=program)


async def test_csv_exports_the_same_figures(reporting: Reporting) -> None:
    program = reporting.history.programs[0]
    response = await reporting.http.get(f"/programs/{program}/overview", params={"format": "csv"})

    assert response.headers["content-type"].startswith("text/csv")
    rows = {row["figure"]: row["value"] for row in csv.DictReader(io.StringIO(response.text))}
    assert int(rows["funnel.enrolled.count"]) == reporting.history.count(program_id=program)


async def test_waiting_for_an_event_reporting_never_received_is_bounded_and_says_so(reporting: Reporting) -> None:
    program = reporting.history.programs[0]
    response = await reporting.http.get(
        f"/programs/{program}/overview", headers={"Tandem-After-Event": str(uuid4())}, params={"wait": 0.3}
    )

    assert response.status_code == 200
    assert response.json()["freshness"]["after"]["applied"] is False


async def test_bad_filters_are_problems_naming_the_field(reporting: Reporting) -> None:
    program = reporting.history.programs[0]
    bad = await reporting.http.get(f"/programs/{program}/overview", params={"role": "boss"})
    backwards = await reporting.http.get(
        f"/programs/{program}/overview", params={"since": "2026-05-01", "until": "2026-04-01"}
    )
    unknown = await reporting.http.get(f"/programs/{uuid4()}/overview")

    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "role" in bad.text
    assert backwards.status_code == 422 and "until" in backwards.text
    assert unknown.status_code == 404


async def test_a_reporting_reader_sees_aggregates_but_not_the_pair_health_list(
    reporting: Reporting, tokens: TokenBook
) -> None:
    program = reporting.history.programs[0]
    reader = await tokens.headers("reporting")

    overview = await reporting.http.get(f"/programs/{program}/overview", headers=reader)
    health = await reporting.http.get(f"/programs/{program}/pair-health", headers=reader)
    anonymous = await reporting.http.get(f"/programs/{program}/overview", headers={"Authorization": ""})

    assert overview.status_code == 200
    assert health.status_code == 403
    assert anonymous.status_code == 401


async def test_the_pair_health_list_is_for_the_programs_own_admins(reporting: Reporting, tokens: TokenBook) -> None:
    mine, other = reporting.history.programs
    login = tokens.person("admin-of-one", roles=["program_admin"], employee_id="HR-0042", programs=[str(mine)])
    headers = await tokens.headers(login)

    own = await reporting.http.get(f"/programs/{mine}/pair-health", headers=headers)
    foreign = await reporting.http.get(f"/programs/{other}/pair-health", headers=headers)

    assert own.status_code == 200
    assert own.json()["report"], "the history flags some pairs"
    assert all(row["days_since_last_session"] is not None for row in own.json()["report"])
    assert foreign.status_code == 404


async def test_metrics_count_requests_by_route_and_say_readiness_and_consumer_lag(reporting: Reporting) -> None:
    program = reporting.history.programs[0]
    await reporting.http.get(f"/programs/{program}/overview")
    await reporting.http.get("/no/such/path")

    metrics = (await reporting.http.get("/metrics")).text

    route = 'method="GET",route="/programs/{program_id}/overview",status="200"'
    assert f"tandem_http_requests_total{{{route}}}" in metrics
    assert 'tandem_http_requests_total{method="GET",route="unmatched",status="404"}' in metrics
    assert str(program) not in metrics, "route templates, never concrete paths"
    assert "tandem_ready 1.0" in metrics
    lags = [
        line for line in metrics.splitlines() if line.startswith('tandem_consumer_lag_messages{consumer="reporting.')
    ]
    assert lags and all(line.endswith(" 0.0") for line in lags), lags


async def test_no_two_allowed_feedback_figures_single_anyone_out(reporting: Reporting) -> None:
    """Through the API: every combination of group filters, and the people behind each allowed figure."""
    from itertools import combinations, product

    from reporting.history import DEPARTMENTS, SITES

    program = reporting.history.programs[0]
    givers = {participant for participant, _, _ in reporting.history.feedback}
    people = {p.participant_id: p for p in reporting.history.people.values() if p.program_id == program}
    allowed: list[frozenset[object]] = []
    suppressed = 0
    for role, department, site in product((None, "junior", "senior"), (None, *DEPARTMENTS), (None, *SITES)):
        filters = {name: value for name, value in (("role", role), ("department", department), ("site", site)) if value}
        feedback = (await reporting.http.get(f"/programs/{program}/impact", params=filters)).json()["report"][
            "feedback"
        ]
        group = frozenset(
            pid
            for pid, person in people.items()
            if pid in givers and all(getattr(person, name) == value for name, value in filters.items())
        )
        if feedback["suppressed"] is None:
            assert feedback["people"] == len(group) >= 5, filters
            allowed.append(group)
        else:
            assert feedback["usefulness"] is None and feedback["people"] is None
            suppressed += 1

    assert allowed and suppressed, "some figures shown, some not"
    for first, second in combinations(set(allowed), 2):
        if first < second or second < first:
            assert len(first ^ second) >= 5
