"""Evaluation over HTTP, fed by the other services' events: requests falling due, answers and their rules,
pair fit, sealed free text, and a program's impact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from evaluation.integration.conftest import Evaluation, SignedAsTheSender
from evaluation.integration.feed import Feed
from tandem_enrollment.domain.participant import enrollment_id
from tandem_evaluation.application import scheduler
from tandem_evaluation.domain.facts import ANSWER_WINDOW
from tandem_kernel.testing import TokenBook

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def as_person(tokens: TokenBook, feed: Feed, participant_id: UUID) -> dict[str, str]:
    login = SignedAsTheSender(tokens, feed).login(feed.employees[participant_id])
    return await tokens.headers(login)


async def evaluation_of(http: httpx.AsyncClient, tokens: TokenBook, feed: Feed, who: UUID) -> dict[str, Any]:
    response = await http.get(f"/participants/{who}/evaluation", headers=await as_person(tokens, feed, who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def events_of(service: Evaluation, stream_id: str) -> list[Any]:
    return [envelope.payload for envelope in await service.store.read_stream(stream_id)]


def field_of(response: httpx.Response) -> str:
    """The field a 422 names."""
    return str(response.json()["errors"][0]["field"])


def ratings(**levels: int) -> list[dict[str, Any]]:
    return [{"skill": skill, "level": level} for skill, level in levels.items()]


async def a_pair(feed: Feed, **wants: Any) -> tuple[UUID, UUID, UUID, UUID]:
    program = await feed.program()
    junior = await feed.participant(program, "junior", wants=("social_networks",), objectives=("network",))
    senior = await feed.participant(program, "senior", wants=("ai_tools", "social_networks"))
    pair = await feed.pair(program, junior, senior, activated_at=datetime.now(UTC) - timedelta(days=1))
    return program, junior, senior, pair


async def test_a_pair_activation_asks_both_for_a_baseline_answered_by_each_for_themselves(
    service: Evaluation, http: httpx.AsyncClient, tokens: TokenBook, feed: Feed
) -> None:
    _, junior, senior, pair = await a_pair(feed)

    asked = await evaluation_of(http, tokens, feed, senior)
    assert asked["asked"]["assessments"] == ["baseline"] and asked["role"] == "senior"
    [request] = [e for e in await events_of(service, f"evaluation-{senior}") if e.event_type.endswith("Requested")]
    assert (request.phase, request.pair_id) == ("baseline", pair)

    not_wanted = await http.post(
        f"/participants/{junior}/assessments", json={"phase": "baseline", "ratings": ratings(ai_tools=2)}
    )
    assert not_wanted.status_code == 422 and field_of(not_wanted) == "ratings.0.skill", not_wanted.text
    too_high = await http.post(
        f"/participants/{junior}/assessments", json={"phase": "baseline", "ratings": ratings(social_networks=6)}
    )
    assert too_high.status_code == 422 and "ratings" in too_high.text
    by_someone_else = await http.post(
        f"/participants/{junior}/assessments",
        json={"phase": "baseline", "ratings": ratings(social_networks=2)},
        headers=await as_person(tokens, feed, senior),
    )
    assert by_someone_else.status_code == 404

    answered = await http.post(
        f"/participants/{junior}/assessments", json={"phase": "baseline", "ratings": ratings(social_networks=2)}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["asked"]["assessments"] == []
    assert answered.json()["skills"] == [
        {"skill": "social_networks", "baseline": 2, "midpoint": None, "end": None, "delta": None, "partner_end": None}
    ]
    again = await http.post(
        f"/participants/{junior}/assessments", json={"phase": "baseline", "ratings": ratings(social_networks=3)}
    )
    assert again.status_code == 409
    not_asked = await http.post(
        f"/participants/{junior}/assessments", json={"phase": "end", "ratings": ratings(social_networks=3)}
    )
    assert not_asked.status_code == 409

    # The partner rates the junior on the junior's skills; the junior cannot rate themselves as partner.
    by_partner = await http.post(
        f"/participants/{junior}/partner-assessments",
        json={"phase": "baseline", "ratings": ratings(social_networks=1)},
        headers=await as_person(tokens, feed, senior),
    )
    assert by_partner.status_code == 204, by_partner.text
    self_as_partner = await http.post(
        f"/participants/{junior}/partner-assessments",
        json={"phase": "baseline", "ratings": ratings(social_networks=1)},
        headers=await as_person(tokens, feed, junior),
    )
    assert self_as_partner.status_code == 404
    # HR reads the evaluations of their programs; a reporting reader does not read a person's.
    assert (await http.get(f"/participants/{junior}/evaluation")).status_code == 200
    reporting = await http.get(f"/participants/{junior}/evaluation", headers=await tokens.headers("reporting"))
    assert reporting.status_code == 403


async def test_a_held_session_asks_for_feedback_and_fit_and_two_noes_fail_the_pair(
    service: Evaluation, http: httpx.AsyncClient, tokens: TokenBook, feed: Feed
) -> None:
    program, junior, senior, pair = await a_pair(feed)
    early = await http.post(f"/pairs/{pair}/fit", json={"participant_id": str(junior), "good_fit": False})
    assert early.status_code == 409  # no held session yet

    session = await feed.session_held(program, pair, junior, senior, held_at=datetime.now(UTC) - timedelta(hours=2))

    asked = (await evaluation_of(http, tokens, feed, junior))["asked"]
    assert (asked["feedback"], asked["fit"]) == ([str(session)], [str(pair)])
    given = await http.post(
        f"/sessions/{session}/feedback",
        json={"participant_id": str(junior), "usefulness": 4, "trust": 5, "comment": "we built a prompt library"},
    )
    assert given.status_code == 200, given.text
    out_of_range = await http.post(
        f"/sessions/{session}/feedback", json={"participant_id": str(senior), "usefulness": 0, "trust": 5}
    )
    assert out_of_range.status_code == 422 and field_of(out_of_range) == "usefulness"
    twice = await http.post(
        f"/sessions/{session}/feedback", json={"participant_id": str(junior), "usefulness": 3, "trust": 3}
    )
    assert twice.status_code == 409
    seen_by_senior = await evaluation_of(http, tokens, feed, senior)
    assert seen_by_senior["feedback_received"] == [{"session_id": str(session), "usefulness": 4, "trust": 5}]
    assert (seen_by_senior["sessions_planned"], seen_by_senior["sessions_held"]) == (1, 1)
    [feedback_event] = [
        e for e in await events_of(service, f"evaluation-{junior}") if e.event_type.endswith("FeedbackGiven")
    ]
    assert "prompt library" not in feedback_event.model_dump_json()  # the comment is sealed, never in an event

    first_no = await http.post(f"/pairs/{pair}/fit", json={"participant_id": str(junior), "good_fit": False})
    assert first_no.status_code == 200 and first_no.json()["health"] == "at_risk"
    second_no = await http.post(f"/pairs/{pair}/fit", json={"participant_id": str(junior), "good_fit": False})
    assert second_no.status_code == 200 and second_no.json()["health"] == "not_a_fit"

    fit_events = [e.event_type for e in await events_of(service, f"pair-fit-{pair}")]
    assert fit_events == ["evaluation.PairFitAnswered", "evaluation.PairFitAnswered", "evaluation.PairFitFailed"]
    after = await http.post(f"/pairs/{pair}/fit", json={"participant_id": str(senior), "good_fit": True})
    assert after.status_code == 409
    stranger = await http.get(
        f"/pairs/{pair}/evaluation", headers=await as_person(tokens, feed, await feed.participant(program, "junior"))
    )
    assert stranger.status_code == 404


async def test_the_unpaired_are_asked_too_and_a_closed_program_takes_only_end_answers_for_a_while(
    service: Evaluation, http: httpx.AsyncClient, tokens: TokenBook, feed: Feed
) -> None:
    program = await feed.program()
    waiting = await feed.participant(program, "junior", waitlisted=True)
    assert (await evaluation_of(http, tokens, feed, waiting))["asked"]["assessments"] == ["baseline"]
    assert (
        await http.post(
            f"/participants/{waiting}/assessments", json={"phase": "baseline", "ratings": ratings(ai_tools=2)}
        )
    ).status_code == 200

    await feed.close(program)

    assert (await evaluation_of(http, tokens, feed, waiting))["asked"] == {
        "assessments": ["end"], "feedback": [], "fit": [], "survey": True
    }  # fmt: skip
    late_progress = await http.post(f"/participants/{waiting}/progress", json={"objective": "ai", "percent": 50})
    assert late_progress.status_code == 409 and late_progress.json()["code"] == "program-closed"
    end = await http.post(f"/participants/{waiting}/assessments", json={"phase": "end", "ratings": ratings(ai_tools=3)})
    assert end.status_code == 200, end.text
    assert end.json()["skills"][0]["delta"] == 1
    service.clock.advance(ANSWER_WINDOW + timedelta(days=1))
    try:
        late = await http.post(f"/participants/{waiting}/survey", json={"satisfaction": 4, "recommendation": 9})
    finally:
        service.clock.advance(-(ANSWER_WINDOW + timedelta(days=1)))
    assert late.status_code == 409


async def test_a_practice_description_is_sealed_and_erasing_the_person_shreds_it(
    service: Evaluation, http: httpx.AsyncClient, tokens: TokenBook, feed: Feed
) -> None:
    program, junior, _, _ = await a_pair(feed)

    wrong_objective = await http.post(
        f"/participants/{junior}/practices",
        json={"objective": "ai", "adopted_on": "2026-04-01", "description": "I post weekly"},
    )
    assert wrong_objective.status_code == 422 and field_of(wrong_objective) == "objective"
    adopted = await http.post(
        f"/participants/{junior}/practices",
        json={"objective": "network", "adopted_on": "2026-04-01", "description": "I post weekly"},
    )
    assert adopted.status_code == 201, adopted.text
    [practice] = adopted.json()["practices"]
    assert practice["description"] == "I post weekly"
    assert (await http.get(f"/participants/{junior}/evaluation")).json()["practices"][0]["description"] is None  # HR
    progressed = await http.post(f"/participants/{junior}/progress", json={"objective": "network", "percent": 40})
    assert progressed.json()["objectives"] == {"network": 40}

    await feed.erase(program, junior, "junior")

    after = await evaluation_of(http, tokens, feed, junior)
    assert after["practices"][0]["description"] is None and after["practices"][0]["objective"] == "network"
    abandoned = await http.post(
        f"/participants/{junior}/practices/{practice['practice_id']}/abandon", json={"abandoned_on": "2026-05-01"}
    )
    assert abandoned.status_code == 200 and abandoned.json()["practices"][0]["abandoned_on"] == "2026-05-01"


async def test_program_impact_over_http_and_published_only_when_it_changes(
    service: Evaluation, http: httpx.AsyncClient, tokens: TokenBook, feed: Feed
) -> None:
    program = await feed.program()
    now = datetime.now(UTC)
    people = []
    for _ in range(6):
        junior = await feed.participant(program, "junior", wants=("ai_tools",))
        senior = await feed.participant(program, "senior", wants=("ai_tools",))
        pair = await feed.pair(program, junior, senior, activated_at=now - timedelta(days=100))
        people.append((junior, senior, pair))
    unpaired = [await feed.participant(program, "junior", wants=("ai_tools",), waitlisted=True) for _ in range(5)]
    for index, (junior, senior, pair) in enumerate(people):
        for person in (junior, senior):
            await http.post(
                f"/participants/{person}/assessments", json={"phase": "baseline", "ratings": ratings(ai_tools=1)}
            )
        await feed.end_pair(program, pair, junior, senior, at=now - timedelta(days=1))
        for person, gain in ((junior, 2), (senior, 1 + index % 2)):
            answered = await http.post(
                f"/participants/{person}/assessments", json={"phase": "end", "ratings": ratings(ai_tools=1 + gain)}
            )
            assert answered.status_code == 200, answered.text
    for person in unpaired:
        await http.post(
            f"/participants/{person}/assessments", json={"phase": "baseline", "ratings": ratings(ai_tools=2)}
        )
    reporting = await tokens.headers("reporting")
    before_end = (await http.get(f"/programs/{program}/impact", headers=reporting)).json()
    assert before_end["comparison"][0]["estimate"] is None  # the unpaired have no end yet
    await feed.close(program)
    for index, person in enumerate(unpaired):
        await http.post(
            f"/participants/{person}/assessments", json={"phase": "end", "ratings": ratings(ai_tools=2 + index % 2)}
        )

    impact = await http.get(f"/programs/{program}/impact", headers=reporting)

    assert impact.status_code == 200, impact.text
    body = impact.json()
    assert body["evaluated"] == 17 and body["completion"] == 1.0
    by_role = {skill["role"]: skill for skill in body["skills"]}
    assert (by_role["junior"]["n"], by_role["junior"]["mean_delta"]) == (6, 2.0)
    assert by_role["junior"]["ci_low"] == by_role["junior"]["ci_high"] == 2.0  # no spread: a point
    assert by_role["senior"]["mean_delta"] == 1.5 and by_role["senior"]["ci_low"] < 1.5 < by_role["senior"]["ci_high"]
    [compared] = body["comparison"]
    assert (compared["paired_n"], compared["unpaired_n"]) == (12, 5)
    assert compared["estimate"] == pytest.approx(1.75 - 0.4)
    assert compared["statement"].startswith("Paired people gained")

    # The service's own pass (every 30 s) may have published figures on the way; this one publishes
    # the final figures if that pass has not, and a pass after it has nothing new to say.
    await scheduler.tick(service.store, now=service.clock.now())
    published = await events_of(service, f"impact-{program}")
    again = await scheduler.tick(service.store, now=service.clock.now())

    assert published and all(event.event_type == "evaluation.ProgramImpactUpdated" for event in published)
    assert published[-1].completion == 1.0 and published[-1].comparison[0].estimate == pytest.approx(1.35)
    assert again.impacts_published == 0
    assert len(await events_of(service, f"impact-{program}")) == len(published)


async def test_the_scheduler_asks_for_the_midpoint_when_time_brings_it(
    service: Evaluation, http: httpx.AsyncClient, tokens: TokenBook, feed: Feed
) -> None:
    _, junior, _, _ = await a_pair(feed)

    await scheduler.tick(service.store, now=datetime.now(UTC))
    assert (await evaluation_of(http, tokens, feed, junior))["asked"]["assessments"] == ["baseline"]
    await scheduler.tick(service.store, now=datetime.now(UTC) + timedelta(days=46))

    assert (await evaluation_of(http, tokens, feed, junior))["asked"]["assessments"] == ["baseline", "midpoint"]


async def test_a_pair_announced_before_its_people_is_asked_once_they_are_approved(
    service: Evaluation, http: httpx.AsyncClient, tokens: TokenBook, feed: Feed
) -> None:
    program = await feed.program()
    junior, senior = (enrollment_id(program, f"LATE-{role}-{program.hex[:6]}") for role in ("J", "S"))
    await feed.pair(program, junior, senior, activated_at=datetime.now(UTC) - timedelta(days=1))
    assert await service.pool.fetchval("SELECT count(*) FROM evaluations WHERE program_id = $1", program) == 0

    await feed.participant(program, "junior", employee_id=f"LATE-J-{program.hex[:6]}")
    await feed.participant(program, "senior", employee_id=f"LATE-S-{program.hex[:6]}")

    assert (await evaluation_of(http, tokens, feed, junior))["asked"]["assessments"] == ["baseline"]
    assert (await evaluation_of(http, tokens, feed, senior))["asked"]["assessments"] == ["baseline"]
