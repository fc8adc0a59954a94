"""The access matrix of every service: each route, each kind of caller, the answer the rules promise
(see `matrix`). Services add their rows to `ROWS`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from identity.conftest import Platform, person
from identity.matrix import PERSONAS, Case, World, case, outcome, request
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, as_csv

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

HR, HR_OTHER, OWN, OTHER = "hr", "hr_other", "participant_own", "participant_other"
REPORTING, OPERATOR, READ, WRITE = "reporting", "operator", "platform_read", "platform_write"
SIGNED_IN = set(PERSONAS) - {"anonymous"}


def newcomer(world: World) -> dict[str, Any]:
    return person("junior", f"NEW-{world.ids['program'][:8]}")


ENROLLMENT = [
    case("enrollment", "GET /healthz", {"anonymous", *SIGNED_IN}),
    case("enrollment", "GET /readyz", {"anonymous", *SIGNED_IN}),
    case("enrollment", "GET /metrics", {"anonymous", *SIGNED_IN}),
    case("enrollment", "GET /", {"anonymous", *SIGNED_IN}),
    case("enrollment", "GET /ops/jobs", {OPERATOR}),
    case("enrollment", "GET /audit", {HR}, {HR_OTHER}, query={"program_id": "{program}"}),
    case("enrollment", "POST /programs", {HR, HR_OTHER, WRITE}, body=lambda w: DEMO_PROGRAM),
    case("enrollment", "GET /programs", {HR, HR_OTHER, OWN, OTHER, READ, WRITE}),
    case("enrollment", "GET /programs/{program}", {HR, OWN, OTHER, READ, WRITE}, {HR_OTHER}),
    case("enrollment", "GET /programs/{other_program}", {HR, HR_OTHER, READ, WRITE}, {OWN, OTHER}),  # a draft
    case(
        "enrollment",
        "PUT /programs/{program}/objectives",
        {HR, WRITE},
        {HR_OTHER},
        body=lambda w: {"objectives": DEMO_PROGRAM["objectives"]},
    ),
    case(
        "enrollment", "PUT /programs/{program}/eligibility", {HR, WRITE}, {HR_OTHER}, body=lambda w: {"eligibility": {}}
    ),
    case("enrollment", "POST /programs/{program}/open", {HR, WRITE}, {HR_OTHER}),
    case("enrollment", "POST /programs/{program}/start", {HR, WRITE}, {HR_OTHER}, fresh=True),
    case("enrollment", "POST /programs/{program}/close", {HR, WRITE}, {HR_OTHER}),
    case("enrollment", "POST /programs/{program}/enrollments", {HR, WRITE}, {HR_OTHER}, body=newcomer),
    case("enrollment", "GET /programs/{program}/enrollments/{junior}", {HR, READ, OWN}, {HR_OTHER, OTHER}),
    case(
        "enrollment",
        "PATCH /programs/{program}/enrollments/{junior}",
        {HR, WRITE, OWN},
        {HR_OTHER, OTHER},
        body=lambda w: {"site": "Lyon"},
    ),
    case("enrollment", "POST /programs/{program}/enrollments/{junior}/approve", {HR, WRITE}, {HR_OTHER}),
    case(
        "enrollment",
        "POST /programs/{program}/enrollments/{junior}/withdraw",
        {HR, WRITE, OWN},
        {HR_OTHER, OTHER},
        fresh=True,
    ),
    case(
        "enrollment",
        "DELETE /programs/{program}/enrollments/{junior}/personal-data",
        {HR, OWN},
        {HR_OTHER, OTHER},
        fresh=True,
    ),
    case("enrollment", "GET /programs/{program}/participants", {HR, READ}, {HR_OTHER}),
    case("enrollment", "POST /programs/{program}/imports", {HR, WRITE}, {HR_OTHER}, body=None),
    case("enrollment", "GET /people/{junior_employee}", {HR, OWN}, {HR_OTHER, OTHER}),
    case("enrollment", "DELETE /people/{junior_employee}/personal-data", {HR, OWN}, {HR_OTHER, OTHER}, fresh=True),
    case("enrollment", "GET /vocabulary/skills", SIGNED_IN),
    case("enrollment", "GET /vocabulary/time-zones", SIGNED_IN),
    case("enrollment", "GET /vocabulary/countries", SIGNED_IN),
]

PAIRING = [
    case("pairing", "GET /healthz", {"anonymous", *SIGNED_IN}),
    case("pairing", "GET /ops/jobs", {OPERATOR}),
    case("pairing", "GET /audit", {HR}, {HR_OTHER}, query={"program_id": "{program}"}),
    case("pairing", "POST /programs/{program}/rounds", {HR, WRITE}, {HR_OTHER}, body=lambda w: {"kind": "incremental"}),
    case("pairing", "GET /rounds/{round}", {HR, READ}, {HR_OTHER}),
    case("pairing", "GET /programs/{program}/rounds", {HR, READ}, {HR_OTHER}),
    case(
        "pairing",
        "POST /proposals/{pair}/accept",
        {OWN},
        {OTHER},
        body=lambda w: {"participant_id": w.ids["junior"]},
        fresh=True,
    ),
    case(
        "pairing",
        "POST /proposals/{pair}/decline",
        {OWN},
        {OTHER},
        body=lambda w: {"participant_id": w.ids["junior"], "reason": "no_time"},
        fresh=True,
    ),
    case("pairing", "POST /pairs/{pair}/end", {HR, OWN}, {HR_OTHER, OTHER}, body=lambda w: {"reason": "other"}),
    case("pairing", "GET /pairs/{pair}", {HR, READ, OWN}, {HR_OTHER, OTHER}),
    case("pairing", "GET /participants/{junior}/pairs", {HR, READ, OWN}, {HR_OTHER, OTHER}),
    case("pairing", "GET /programs/{program}/pool", {HR}, {HR_OTHER}),
    case("pairing", "GET /programs/{program}/pairing-settings", {HR}, {HR_OTHER}),
    case("pairing", "PUT /programs/{program}/pairing-settings", {HR}, {HR_OTHER}, body=lambda w: {}),
    case(
        "pairing",
        "POST /programs/{program}/forbidden-pairs",
        {HR},
        {HR_OTHER},
        body=lambda w: {"junior_id": w.ids["junior"], "senior_id": w.ids["senior"]},
        fresh=True,
    ),
    case("pairing", "GET /programs/{program}/flagged-pairs", {HR}, {HR_OTHER}),
    case("pairing", "GET /programs/{program}/candidates/{junior}/{senior}/compatibility", {HR}, {HR_OTHER}),
    case("pairing", "GET /people/{junior_employee}", {HR, OWN}, {HR_OTHER, OTHER}),
]

# Sessions: the shared world's pair is active (both accepted) and has sessions; a participant acts
# on a session of theirs only (someone else's is not there: 404). Times in the past are refused
# (409) after the access check: admitted, and nothing changes.
_PAST = "2020-01-07T10:00:00+01:00"


def _act(extra: dict[str, Any] | None = None) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"participant_id": w.ids["junior"], **(extra or {})}


SESSIONS = [
    case("sessions", "GET /healthz", {"anonymous", *SIGNED_IN}),
    case("sessions", "GET /", {"anonymous", *SIGNED_IN}),
    case("sessions", "GET /ops/jobs", {OPERATOR}),
    case("sessions", "GET /pairs/{pair}/sessions", {HR, READ, OWN}, {HR_OTHER, OTHER}),
    case("sessions", "GET /participants/{junior}/sessions", {HR, READ, OWN}, {HR_OTHER, OTHER}),
    case("sessions", "GET /sessions/{session}", {HR, READ, OWN}, {HR_OTHER, OTHER}),
    case("sessions", "GET /programs/{program}/pairs", {HR, READ}, {HR_OTHER}),
    case("sessions", "POST /sessions/{session}/reschedule", {OWN}, {OTHER}, body=_act({"starts_at": _PAST})),
    case("sessions", "POST /sessions/{session}/reschedule/accept", {OWN}, {OTHER}, body=_act()),
    case("sessions", "POST /sessions/{session}/reschedule/refuse", {OWN}, {OTHER}, body=_act()),
    case("sessions", "POST /sessions/{session}/cancel", {OWN}, {OTHER}, body=_act({"reason": "workload"}), fresh=True),
    case(
        "sessions",
        "POST /pairs/{pair}/sessions",
        {OWN},
        {OTHER},
        body=_act({"starts_at": _PAST, "duration_minutes": 45}),
    ),
    case(
        "sessions",
        "POST /sessions/{session}/attendance",
        {OWN},
        {OTHER},
        body=_act({"outcome": "held", "duration_minutes": 45}),
    ),
    case("sessions", "GET /sessions/{session}/agenda", {HR, OWN}, {HR_OTHER, OTHER}),
    case("sessions", "PUT /sessions/{session}/agenda", {OWN}, {OTHER}, body=_act({"items": []})),
    case("sessions", "GET /sessions/{session}/notes", {OWN}, {OTHER}),
    case("sessions", "POST /sessions/{session}/notes", {OWN}, {OTHER}, body=_act({"text": "A private note"})),
    case("sessions", "POST /participants/{junior}/calendar-feed", {OWN}, {OTHER}, fresh=True),
    case("sessions", "DELETE /participants/{junior}/calendar-feed", {OWN}, {OTHER}, fresh=True),
    case("sessions", "GET /calendars/{feed}", {"anonymous", *SIGNED_IN}),
]

# Evaluation. The seeded pair is active (evaluation heard of it) but has held no session and has no
# practice: routes about a held session or a practice answer 404 even to their owner (`hidden`),
# which still shows who is refused outright (403) and who is asked to sign in (401).
ASSESSMENT = {"phase": "baseline", "ratings": [{"skill": "prompt_engineering", "level": 2}]}
EVALUATION = [
    case("evaluation", "GET /healthz", {"anonymous", *SIGNED_IN}),
    case("evaluation", "GET /ops/jobs", {OPERATOR}),
    case("evaluation", "GET /audit", {HR}, {HR_OTHER}, query={"program_id": "{program}"}),
    case("evaluation", "GET /participants/{junior}/evaluation", {HR, OWN}, {HR_OTHER, OTHER}),
    case("evaluation", "POST /participants/{junior}/assessments", {OWN}, {OTHER}, body=lambda w: ASSESSMENT),
    case(
        "evaluation", "POST /participants/{junior}/partner-assessments", set(), {OWN, OTHER}, body=lambda w: ASSESSMENT
    ),
    case(
        "evaluation",
        "POST /participants/{junior}/practices",
        {OWN},
        {OTHER},
        body=lambda w: {"objective": "ai", "adopted_on": "2026-04-01", "description": "weekly AI assistant"},
    ),
    case(
        "evaluation",
        "POST /participants/{junior}/practices/{pair}/abandon",
        set(),
        {OWN, OTHER},
        body=lambda w: {"abandoned_on": "2026-05-01"},
    ),
    case(
        "evaluation",
        "POST /participants/{junior}/progress",
        {OWN},
        {OTHER},
        body=lambda w: {"objective": "ai", "percent": 30},
    ),
    case(
        "evaluation",
        "POST /participants/{junior}/survey",
        {OWN},
        {OTHER},
        body=lambda w: {"satisfaction": 4, "recommendation": 9},
    ),
    case(
        "evaluation",
        "POST /sessions/{pair}/feedback",
        set(),
        {OWN, OTHER},
        body=lambda w: {"participant_id": w.ids["junior"], "usefulness": 4, "trust": 4},
    ),
    case(
        "evaluation",
        "POST /pairs/{pair}/fit",
        {OWN},  # admitted, then 409: the fit question comes after the pair's first held session
        {OTHER},
        body=lambda w: {"participant_id": w.ids["junior"], "good_fit": True},
    ),
    case("evaluation", "GET /pairs/{pair}/evaluation", {HR, OWN}, {HR_OTHER, OTHER}),
    case("evaluation", "GET /programs/{program}/impact", {HR, REPORTING, READ}, {HR_OTHER}),
]

REPORTING_SERVICE = [
    case("reporting", "GET /healthz", {"anonymous", *SIGNED_IN}),
    case("reporting", "GET /ops/jobs", {OPERATOR}),
    case("reporting", "GET /ops/platform", {OPERATOR}),
    case("reporting", "GET /audit", {HR}, {HR_OTHER}, query={"program_id": "{program}"}),
    case("reporting", "GET /programs", {HR, HR_OTHER, REPORTING, READ}),
    case("reporting", "GET /programs/{program}/overview", {HR, REPORTING, READ}, {HR_OTHER}),
    case("reporting", "GET /programs/{program}/breakdowns/department", {HR, REPORTING, READ}, {HR_OTHER}),
    case("reporting", "GET /programs/{program}/impact", {HR, REPORTING, READ}, {HR_OTHER}),
    case("reporting", "GET /programs/{program}/weekly", {HR, REPORTING, READ}, {HR_OTHER}),
    case("reporting", "GET /programs/{program}/pair-health", {HR}, {HR_OTHER}),
]

ROWS: list[Case] = [*ENROLLMENT, *PAIRING, *SESSIONS, *EVALUATION, *REPORTING_SERVICE]


async def _send(method: str, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        if url.endswith("/imports") and method == "POST":  # a file, not JSON
            kwargs.pop("json", None)
            csv = as_csv([person("junior", "IMPORTED-1")])
            return await http.post(url, content=csv.encode(), headers={**kwargs["headers"], "content-type": "text/csv"})
        return await http.request(method, url, **kwargs)


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_each_caller_gets_what_the_rules_promise(platform: Platform, row: Case) -> None:
    answers: dict[str, str] = {}
    details: dict[str, str] = {}
    for persona in PERSONAS:
        admitted = row.expected(persona) == "admitted"
        world = await platform.fresh_world() if row.fresh and admitted and persona != "anonymous" else platform.world
        world.ids.setdefault("other_program", platform.world.ids["other_program"])
        response = await request(world, row, platform.headers(persona), _send)
        answers[persona] = outcome(response.status_code)
        details[persona] = f"{response.status_code} {response.text[:200]}"
        if answers[persona] in ("401", "403"):
            assert response.headers["content-type"] == "application/problem+json", details[persona]
        if answers[persona] == "401":
            assert response.headers["www-authenticate"].startswith("Bearer")

    expected = {persona: row.expected(persona) for persona in PERSONAS}
    assert answers == expected, json.dumps(details, indent=1)
