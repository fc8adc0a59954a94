"""The compatibility endpoint, and the problem documents every kind of bad request gets."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pairing.integration.conftest import Pairing, completed_round, finished
from pairing.integration.enrollment_feed import EnrollmentFeed
from tandem_kernel.events import EventMetadata
from tandem_pairing.adapters import pool as pool_table
from tandem_pairing.application import rounds
from tandem_pairing.domain.events import RoundKind

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

UNKNOWN = "00000000-0000-4000-8000-00000000abcd"


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    return body


async def test_compatibility_explains_a_good_match_component_by_component(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    junior = await feed.participant(
        program_id, "junior", skills_offered=[{"skill": "prompt_engineering", "level": 5}], objectives=["ai"]
    )
    senior = await feed.participant(
        program_id,
        "senior",
        department="Sales",
        skills_wanted=[{"skill": "prompt_engineering", "level": 1}],
        objectives=["ai"],
    )

    response = await http.get(f"/programs/{program_id}/candidates/{junior}/{senior}/compatibility")

    assert response.status_code == 200, response.text
    fit = response.json()
    assert fit["feasible"] is True and fit["violations"] == [] and fit["forbidden_because"] == []
    assert sum(fit["breakdown"].values()) == pytest.approx(fit["score"], abs=1e-3)
    assert fit["junior_teaches"] == [{"skill": "prompt_engineering", "offered_level": 5, "wanted_level": 1, "value": 6}]
    assert fit["shared_objectives"] == ["ai"] and fit["different_departments"] is True
    assert fit["overlap_minutes"] == 15 * 60 and fit["shared_languages"] == ["en"]
    assert fit["junior_in_pool"] and fit["senior_in_pool"]


async def test_compatibility_explains_why_a_pair_is_impossible(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    junior = await feed.participant(
        program_id, "junior", employee_id="J-1", manager_employee_id="S-1", languages=["fr"], approved=False
    )
    senior = await feed.participant(program_id, "senior", employee_id="S-1", languages=["de"])
    forbid = await http.post(
        f"/programs/{program_id}/forbidden-pairs", json={"junior_id": str(junior), "senior_id": str(senior)}
    )
    assert forbid.status_code == 201

    fit = (await http.get(f"/programs/{program_id}/candidates/{junior}/{senior}/compatibility")).json()

    assert fit["feasible"] is False
    assert fit["violations"] == ["no_shared_language", "manager_line", "forbidden_pair"]
    assert fit["forbidden_because"] == ["hr_forbidden"]
    assert fit["score"] > 0  # how well they would fit, were it not for the rules
    assert fit["junior_in_pool"] is False


async def test_unknown_things_are_not_found(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior")

    problem(await http.get(f"/rounds/{UNKNOWN}"), 404)
    problem(await http.get(f"/pairs/{UNKNOWN}"), 404)
    problem(await http.get(f"/participants/{UNKNOWN}/pairs"), 404)
    problem(await http.post(f"/proposals/{UNKNOWN}/accept", json={"participant_id": str(junior)}), 404)
    problem(await http.post(f"/pairs/{UNKNOWN}/end", json={"reason": "other"}), 404)
    problem(await http.post(f"/programs/{UNKNOWN}/rounds", json={"kind": "full"}), 404)
    problem(await http.get(f"/programs/{UNKNOWN}/pairing-settings"), 404)
    problem(await http.get(f"/programs/{UNKNOWN}/candidates/{junior}/{UNKNOWN}/compatibility"), 404)
    assert (await http.get(f"/participants/{junior}/pairs")).json() == {
        "participant_id": str(junior),
        "current": [],
        "past": [],
    }


async def test_bad_input_names_the_field(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior")
    senior = await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]
    pair = f"/proposals/{proposal['pair_id']}"

    cases = [
        (await http.post(f"/programs/{program_id}/rounds", json={"kind": "sometimes"}), "kind"),
        (await http.post(f"{pair}/decline", json={"participant_id": str(junior), "reason": "bored"}), "reason"),
        (await http.post(f"{pair}/accept", json={"participant_id": "not-an-id"}), "participant_id"),
        (await http.post(f"/pairs/{proposal['pair_id']}/end", json={"reason": "rotated"}), "reason"),
        (await http.put(f"/programs/{program_id}/pairing-settings", json={"senior_capacity": 0}), "senior_capacity"),
        (await http.put(f"/programs/{program_id}/pairing-settings", json={"weights": _zero_weights()}), "weights"),
        # Nothing is coerced: a number sent as text, or a boolean as a number, is refused.
        (await http.put(f"/programs/{program_id}/pairing-settings", json={"senior_capacity": "2"}), "senior_capacity"),
        (await http.put(f"/programs/{program_id}/pairing-settings", json={"junior_capacity": True}), "junior_capacity"),
        (await http.post(f"/programs/{program_id}/pins", json={"junior_id": str(senior), "senior_id": str(junior)}),
         "junior_id"),
        (await http.get(f"/programs/{program_id}/candidates/{junior}/{junior}/compatibility"), "senior_id"),
    ]  # fmt: skip

    for response, field in cases:
        body = problem(response, 422)
        assert field in [error["field"] for error in body["errors"]], body  # type: ignore[attr-defined]


def _zero_weights() -> dict[str, float]:
    names = ("junior_teaches", "senior_teaches", "shared_objectives", "different_departments", "site", "availability")
    return {**dict.fromkeys(names, 0.0), "meeting_mode": 0.0}


async def test_invalid_transitions_conflict(http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]
    pair_id = proposal["pair_id"]

    not_yet_active = await http.post(f"/pairs/{pair_id}/end", json={"reason": "not_a_good_fit"})
    declined = await http.post(
        f"/proposals/{pair_id}/decline", json={"participant_id": str(junior), "reason": "schedule_mismatch"}
    )
    accept_declined = await http.post(f"/proposals/{pair_id}/accept", json={"participant_id": str(junior)})

    problem(not_yet_active, 409)
    assert declined.status_code == 200
    assert "declined" in str(problem(accept_declined, 409)["detail"])

    # Two rounds of one program never run at once (the second request comes while the first runs:
    # holding the program's lock keeps the first from writing its proposals until the check is done).
    metadata = EventMetadata(actor="tests")
    async with service.store.pool.acquire() as holder, holder.transaction():
        await pool_table.lock_program(holder, program_id)
        first, _ = await rounds.request(
            service.store, program_id, RoundKind.INCREMENTAL, now=datetime.now(UTC), metadata=metadata
        )
        problem(await http.post(f"/programs/{program_id}/rounds", json={"kind": "incremental"}), 409)
    assert (await finished(http, str(first)))["status"] == "completed"


async def test_an_early_end_frees_both_for_the_next_incremental_round(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    juniors = [str(await feed.participant(program_id, "junior")) for _ in range(2)]
    seniors = [str(await feed.participant(program_id, "senior")) for _ in range(2)]
    first = await completed_round(http, program_id)
    for proposal in first["proposals"]:
        for side in ("junior_id", "senior_id"):
            await http.post(f"/proposals/{proposal['pair_id']}/accept", json={"participant_id": proposal[side]})
    ended = first["proposals"][0]

    response = await http.post(f"/pairs/{ended['pair_id']}/end", json={"reason": "not_a_good_fit"})

    assert response.status_code == 200 and response.json()["status"] == "ended"
    again = await completed_round(http, program_id, "incremental")
    assert again["pool_size"] == 2 and again["matched"] == 0  # their only other options are in active pairs
    assert {u["participant_id"] for u in again["unmatched"]} == {ended["junior_id"], ended["senior_id"]}
    still_active = first["proposals"][1]
    assert (await http.get(f"/pairs/{still_active['pair_id']}")).json()["status"] == "active"
    assert {still_active["junior_id"], ended["junior_id"]} == set(juniors)
    assert {still_active["senior_id"], ended["senior_id"]} == set(seniors)


async def test_a_proposed_pair_is_explained_against_the_rules_it_was_proposed_under(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior")
    senior = await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]

    fit = (await http.get(f"/programs/{program_id}/candidates/{junior}/{senior}/compatibility")).json()

    # The proposal is not its own "previous partner", nor a forbidden pair.
    assert fit["feasible"] is True and fit["violations"] == [] and fit["forbidden_because"] == []
    assert fit["score"] == pytest.approx(proposal["score"], abs=1e-3)
    basis = fit["basis"]
    assert (basis["kind"], basis["pair_id"], basis["round_id"]) == (
        "proposal",
        proposal["pair_id"],
        proposal["round_id"],
    )
    assert basis["as_of"] == proposal["proposed_at"] and basis["pair_status"] == "proposed"
