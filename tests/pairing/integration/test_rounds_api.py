"""Rounds through the HTTP API: the pool fed by enrollment's events, proposals, answers, activation,
re-pairing after a decline, HR's pins and forbids, capacities."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import pytest
from pairing.integration.conftest import Pairing, completed_round, finished, proposals_of
from pairing.integration.enrollment_feed import EnrollmentFeed
from tandem_kernel.testing import eventually
from tandem_pairing.adapters.read_model import pairs_projection

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]


async def event_types(service: Pairing, stream_id: str) -> list[str]:
    return [envelope.event_type for envelope in await service.store.read_stream(stream_id)]


async def test_only_approved_participants_are_in_the_pool_and_the_round_pairs_them(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior", languages=["fr"])
    senior = await feed.participant(program_id, "senior", languages=["fr", "en"])
    await feed.participant(program_id, "junior", approved=False)  # applied, not approved: not in the pool
    left = await feed.participant(program_id, "senior")
    await feed.withdraw(program_id, left, "senior")
    pool = (await http.get(f"/programs/{program_id}/pool")).json()
    # Enrollment's words for the statuses: the same counts read the same in both services.
    assert pool["juniors"] == {"applied": 1, "approved": 1, "waitlisted": 0, "withdrawn": 0}
    assert pool["seniors"] == {"applied": 0, "approved": 1, "waitlisted": 0, "withdrawn": 1}

    round_ = await completed_round(http, program_id)

    assert (round_["pool_size"], round_["matched"], round_["unmatched_count"]) == (2, 1, 0)
    [proposal] = round_["proposals"]
    assert (proposal["junior_id"], proposal["senior_id"]) == (str(junior), str(senior))
    assert proposal["status"] == "proposed" and not proposal["pinned"]
    assert sum(proposal["breakdown"].values()) == pytest.approx(proposal["score"], abs=1e-3)


async def test_both_sides_accepting_activate_the_pair(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior")
    senior = await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]
    pair_id = proposal["pair_id"]

    first = await http.post(f"/proposals/{pair_id}/accept", json={"participant_id": str(senior)})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "proposed" and first.json()["waiting_for"] == [str(junior)]
    second = await http.post(f"/proposals/{pair_id}/accept", json={"participant_id": str(junior)})
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "active" and second.json()["rotation_due_at"] is not None

    assert await event_types(service, f"pair-{pair_id}") == [
        "pairing.PairProposed",
        "pairing.ProposalAccepted",
        "pairing.ProposalAccepted",
        "pairing.PairActivated",
    ]

    async def active_in_read_model() -> bool:
        pairs = (await http.get(f"/participants/{junior}/pairs")).json()
        return [p["status"] for p in pairs["current"]] == ["active"] and pairs["past"] == []

    await eventually(active_in_read_model, timeout=10)


async def test_a_declined_proposal_is_repaired_by_an_incremental_round_leaving_active_pairs_alone(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    juniors = [await feed.participant(program_id, "junior") for _ in range(2)]
    seniors = [await feed.participant(program_id, "senior") for _ in range(3)]
    first = await completed_round(http, program_id)
    assert first["matched"] == 2 and [u["reason"] for u in first["unmatched"]] == ["capacity"]
    kept, declined = first["proposals"]
    for side in ("junior_id", "senior_id"):
        accepted = await http.post(f"/proposals/{kept['pair_id']}/accept", json={"participant_id": kept[side]})
        assert accepted.status_code == 200
    answer = {"participant_id": declined["senior_id"], "reason": "no_time"}
    refused = await http.post(f"/proposals/{declined['pair_id']}/decline", json=answer)
    assert refused.status_code == 200 and refused.json()["status"] == "declined"

    again = await completed_round(http, program_id, "incremental")

    # The active pair is not in the round; the declined junior gets the senior left alone before,
    # never the one who declined (previous partners are not paired again).
    assert again["pool_size"] == 3
    [repaired] = again["proposals"]
    [left_alone] = first["unmatched"]
    assert (repaired["junior_id"], repaired["senior_id"]) == (declined["junior_id"], left_alone["participant_id"])
    assert {declined["junior_id"], kept["junior_id"]} == set(map(str, juniors))
    assert {declined["senior_id"], kept["senior_id"], left_alone["participant_id"]} == set(map(str, seniors))
    assert [(u["participant_id"], u["reason"]) for u in again["unmatched"]] == [
        (declined["senior_id"], "no_feasible_partner")
    ]
    assert (await http.get(f"/pairs/{kept['pair_id']}")).json()["status"] == "active"


async def test_a_full_round_is_refused_while_pairs_are_open(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    await completed_round(http, program_id)

    again = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"})

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "incremental" in again.json()["detail"]


async def test_pins_and_forbidden_pairs_are_honoured_and_impossible_pins_explained(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    j1, j2 = [await feed.participant(program_id, "junior") for _ in range(2)]
    s1, s2 = [await feed.participant(program_id, "senior") for _ in range(2)]
    lonely = await feed.participant(program_id, "senior", languages=["de"])  # shares no language
    rules = f"/programs/{program_id}"

    pinned = await http.post(f"{rules}/pins", json={"junior_id": str(j1), "senior_id": str(s2)})
    assert pinned.status_code == 201, pinned.text
    assert pinned.json()["pins"] == [{"junior_id": str(j1), "senior_id": str(s2)}]
    forbidden = await http.post(f"{rules}/forbidden-pairs", json={"junior_id": str(j2), "senior_id": str(s2)})
    assert forbidden.status_code == 201
    assert (await http.post(f"{rules}/pins", json={"junior_id": str(j2), "senior_id": str(lonely)})).status_code == 201
    conflict = await http.post(f"{rules}/pins", json={"junior_id": str(j2), "senior_id": str(s2)})
    assert conflict.status_code == 409

    round_ = await completed_round(http, program_id)

    proposals = proposals_of(round_)
    assert proposals[(str(j1), str(s2))]["pinned"] is True
    assert (str(j2), str(s1)) in proposals
    assert round_["rejected_pins"] == [
        {"junior_id": str(j2), "senior_id": str(lonely), "reason": "infeasible", "violations": ["no_shared_language"]}
    ]
    assert {(u["participant_id"], u["reason"]) for u in round_["unmatched"]} == {(str(lonely), "no_feasible_partner")}


async def test_removing_pins_and_forbids(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    junior, senior = await feed.participant(program_id, "junior"), await feed.participant(program_id, "senior")
    body = {"junior_id": str(junior), "senior_id": str(senior)}
    rules = f"/programs/{program_id}"

    assert (await http.post(f"{rules}/forbidden-pairs", json=body)).status_code == 201
    assert (await http.delete(f"{rules}/forbidden-pairs/{junior}/{senior}")).status_code == 204
    assert (await http.delete(f"{rules}/forbidden-pairs/{junior}/{senior}")).status_code == 404
    assert (await http.post(f"{rules}/pins", json=body)).status_code == 201
    assert (await http.delete(f"{rules}/pins/{junior}/{senior}")).status_code == 204
    settings = (await http.get(f"{rules}/pairing-settings")).json()
    assert settings["pins"] == settings["forbidden_pairs"] == []


async def test_capacities_let_a_senior_mentor_two_juniors(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program(rotation_months=6)
    juniors = {str(await feed.participant(program_id, "junior")) for _ in range(2)}
    senior = await feed.participant(program_id, "senior")

    put = await http.put(
        f"/programs/{program_id}/pairing-settings",
        json={"senior_capacity": 2, "site_preference": "same", "weights": {"availability": 40}},
    )
    assert put.status_code == 200, put.text
    effective: dict[str, Any] = put.json()["effective"]
    assert (effective["senior_capacity"], effective["rotation_months"], effective["proposal_expiry_days"]) == (2, 6, 7)
    assert put.json()["settings"]["rotation_months"] is None  # the program's own term applies

    round_ = await completed_round(http, program_id)

    assert {p["junior_id"] for p in round_["proposals"]} == juniors
    assert {p["senior_id"] for p in round_["proposals"]} == {str(senior)}
    assert round_["proposals"][0]["breakdown"]["site"] > 0  # the site component counts now


async def test_commands_honour_idempotency_keys(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    key = {"Idempotency-Key": f"round-{program_id}"}

    first = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"}, headers=key)
    retry = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"}, headers=key)

    assert first.status_code == retry.status_code == 202
    assert first.json()["round_id"] == retry.json()["round_id"]
    round_ = await finished(http, first.json()["round_id"])
    pair_id = round_["proposals"][0]["pair_id"]
    answer: dict[str, Any] = {"participant_id": str(junior), "reason": "not_a_good_fit"}
    once = await http.post(f"/proposals/{pair_id}/decline", json=answer, headers={"Idempotency-Key": "d1"})
    twice = await http.post(f"/proposals/{pair_id}/decline", json=answer, headers={"Idempotency-Key": "d1"})
    without_key = await http.post(f"/proposals/{pair_id}/decline", json=answer)
    assert once.status_code == twice.status_code == 200 and once.json() == twice.json()
    assert without_key.status_code == 409


async def test_a_retry_after_the_round_made_its_proposals_gets_the_first_answer_not_a_409(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    key = {"Idempotency-Key": f"late-retry-{program_id}"}
    first = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"}, headers=key)
    await finished(http, first.json()["round_id"])  # its proposals are open now: a new full round is refused

    retry = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"}, headers=key)
    another = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"})

    assert (first.status_code, retry.status_code) == (202, 202), retry.text
    assert retry.json()["round_id"] == first.json()["round_id"]
    assert another.status_code == 409 and "open proposals" in another.json()["detail"]


async def test_a_round_lists_its_proposals_page_by_page(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    for _ in range(3):
        await feed.participant(program_id, "junior")
        await feed.participant(program_id, "senior")
    round_ = await completed_round(http, program_id)

    first = (await http.get(f"/rounds/{round_['round_id']}", params={"limit": 2})).json()
    rest = (await http.get(f"/rounds/{round_['round_id']}", params={"limit": 2, "after": first["next_after"]})).json()

    assert len(first["proposals"]) == 2 and len(rest["proposals"]) == 1 and rest["next_after"] is None
    assert [p["pair_id"] for p in first["proposals"] + rest["proposals"]] == sorted(
        p["pair_id"] for p in round_["proposals"]
    )
    assert UUID(first["next_after"]) == UUID(first["proposals"][-1]["pair_id"])


async def test_a_round_key_answers_one_request_and_a_round_of_another_kind_under_it_is_refused(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    headers = {"Idempotency-Key": f"round-{program_id}"}

    first = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"}, headers=headers)
    retry = await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"}, headers=headers)
    other_kind = await http.post(f"/programs/{program_id}/rounds", json={"kind": "incremental"}, headers=headers)

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json()["round_id"] == first.json()["round_id"]
    assert other_kind.status_code == 422
    assert other_kind.json()["errors"][0]["field"] == "Idempotency-Key"
    await finished(http, first.json()["round_id"])


async def test_a_programs_rounds_are_listed_page_by_page(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    first = await completed_round(http, program_id)
    second = await completed_round(http, program_id, "incremental")
    url = f"/programs/{program_id}/rounds"

    page = (await http.get(url, params={"limit": 1})).json()
    rest = (await http.get(url, params={"limit": 1, "cursor": page["next_cursor"]})).json()

    assert [r["round_id"] for r in page["items"] + rest["items"]] == [first["round_id"], second["round_id"]]
    assert [(r["kind"], r["status"], r["matched"]) for r in page["items"] + rest["items"]] == [
        ("full", "completed", 1),
        ("incremental", "completed", 0),
    ]
    assert rest["next_cursor"] is None
    assert (await http.get(url, params={"cursor": "garbage"})).status_code == 422
    assert (await http.get("/programs/00000000-0000-4000-8000-00000000abcd/rounds")).status_code == 404


async def test_a_round_never_shows_completed_without_its_proposals(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program()
    for _ in range(2):
        await feed.participant(program_id, "junior")
        await feed.participant(program_id, "senior")
    checkpoint = pairs_projection.checkpoint_name

    async def projected_once() -> bool:
        return bool(await service.pool.fetchval("SELECT true FROM pairing.checkpoints WHERE name = $1", checkpoint))

    await eventually(projected_once)
    async with service.pool.acquire() as held, held.transaction():
        # The read model stands still while this transaction holds its checkpoint.
        await held.execute("SELECT 1 FROM pairing.checkpoints WHERE name = $1 FOR UPDATE", checkpoint)
        requested = (await http.post(f"/programs/{program_id}/rounds", json={"kind": "full"})).json()

        async def completed_on_the_write_side() -> bool:
            status = await service.pool.fetchval(
                "SELECT status FROM pairing.rounds WHERE round_id = $1", UUID(requested["round_id"])
            )
            return bool(status == "completed")

        await eventually(completed_on_the_write_side, timeout=20)
        seen = (await http.get(f"/rounds/{requested['round_id']}")).json()
        assert seen["status"] != "completed" or len(seen["proposals"]) == seen["matched"], seen
    done = await finished(http, requested["round_id"])
    assert done["matched"] == 2 and len(done["proposals"]) == 2
