"""What time and departures do: reminders and expiry, rotation (scheduled and by HR), participants
leaving, programs closing, profiles changing. Time passes by calling the scheduler's `tick` with a
`now` of the test's choosing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from pairing.integration.conftest import Pairing, completed_round, finished, proposals_of
from pairing.integration.enrollment_feed import EnrollmentFeed
from tandem_kernel.testing import eventually
from tandem_pairing.application import scheduler

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]


async def payloads(service: Pairing, pair_id: str) -> list[Any]:
    return [envelope.payload for envelope in await service.store.read_stream(f"pair-{pair_id}")]


async def activate(http: httpx.AsyncClient, proposal: dict[str, Any]) -> dict[str, Any]:
    for side in ("junior_id", "senior_id"):
        answer = await http.post(f"/proposals/{proposal['pair_id']}/accept", json={"participant_id": proposal[side]})
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "active"
    result: dict[str, Any] = answer.json()
    return result


async def test_an_unanswered_proposal_is_reminded_then_expires_and_can_no_longer_be_accepted(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program(proposal_expiry_days=4)
    junior = await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]
    await http.post(f"/proposals/{proposal['pair_id']}/accept", json={"participant_id": str(junior)})
    proposed_at = datetime.fromisoformat(proposal["proposed_at"])

    early = await scheduler.tick(service.store, now=proposed_at + timedelta(days=2))
    reminded = await scheduler.tick(service.store, now=proposed_at + timedelta(days=3, minutes=1))
    again = await scheduler.tick(service.store, now=proposed_at + timedelta(days=3, minutes=2))
    expired = await scheduler.tick(service.store, now=proposed_at + timedelta(days=4))

    assert (early.reminded, reminded.reminded, again.reminded) == (0, 1, 0)
    assert expired.expired == 1
    reminder, expiry = (await payloads(service, proposal["pair_id"]))[-2:]
    assert reminder.event_type == "pairing.ProposalReminderDue"
    assert reminder.waiting_for == (UUID(proposal["senior_id"]),)
    assert expiry.event_type == "pairing.ProposalExpired"
    late = await http.post(f"/proposals/{proposal['pair_id']}/accept", json={"participant_id": proposal["senior_id"]})
    assert late.status_code == 409
    assert late.json()["code"] == "invalid-transition" and "expired" in late.json()["detail"]


async def test_pairs_due_for_rotation_end_and_a_rotation_round_pairs_everyone_with_someone_new(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program(rotation_months=2)
    juniors = [str(await feed.participant(program_id, "junior")) for _ in range(2)]
    seniors = [str(await feed.participant(program_id, "senior")) for _ in range(2)]
    first = await completed_round(http, program_id)
    activated = [await activate(http, proposal) for proposal in first["proposals"]]
    due = max(datetime.fromisoformat(pair["rotation_due_at"]) for pair in activated)

    report = await scheduler.tick(service.store, now=due + timedelta(minutes=1))

    [round_id] = report.rotation_rounds
    rotation = await finished(http, str(round_id))
    assert rotation["kind"] == "rotation" and rotation["rotated_pairs"] == 2
    for pair in activated:
        ended = (await payloads(service, str(pair["pair_id"])))[-1]
        assert ended.event_type == "pairing.PairEnded" and ended.reason == "rotated"
    before, after = set(proposals_of(first)), set(proposals_of(rotation))
    assert len(after) == 2 and not before & after
    assert {j for j, _ in after} == set(juniors) and {s for _, s in after} == set(seniors)


async def test_the_proposals_of_a_rotation_are_accepted_at_once_and_only_an_expired_one_is_refused(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    # The simulated company's 1,550 refused acceptances after the half-way rotation: acceptance decides
    # on the pair's own stream (and the pool), never on a read model still catching up with the rotation,
    # so answering at once succeeds; the refusals were answers given after the proposals expired.
    program_id = await feed.program(rotation_months=2, proposal_expiry_days=7)
    for _ in range(3):
        await feed.participant(program_id, "junior")
        await feed.participant(program_id, "senior")
    first = await completed_round(http, program_id)
    activated = [await activate(http, proposal) for proposal in first["proposals"]]
    due = max(datetime.fromisoformat(pair["rotation_due_at"]) for pair in activated)
    [round_id] = (await scheduler.tick(service.store, now=due + timedelta(minutes=1))).rotation_rounds
    rotation = await finished(http, str(round_id))
    assert rotation["rotated_pairs"] == 3 and rotation["matched"] == 3
    on_time, *others = rotation["proposals"]

    answered = await activate(http, on_time)
    for late in others:
        await scheduler.tick(service.store, now=datetime.fromisoformat(late["expires_at"]))
        refused = await http.post(f"/proposals/{late['pair_id']}/accept", json={"participant_id": late["junior_id"]})
        assert refused.status_code == 409 and "expired" in refused.json()["detail"], refused.text

    assert answered["status"] == "active" and answered["pair_id"] == on_time["pair_id"]


async def test_hr_rotates_every_active_pair_at_once(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]
    await activate(http, proposal)

    rotation = await completed_round(http, program_id, "rotation")

    # Everyone has had everyone: nobody can be paired again in this program.
    assert rotation["rotated_pairs"] == 1 and rotation["matched"] == 0
    assert {u["reason"] for u in rotation["unmatched"]} == {"no_feasible_partner"}
    assert (await http.get(f"/pairs/{proposal['pair_id']}")).json()["reason"] == "rotated"


async def test_a_participant_leaving_withdraws_their_proposal_and_ends_their_pair(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program()
    senior = await feed.participant(program_id, "senior")
    juniors = [await feed.participant(program_id, "junior") for _ in range(2)]
    put = await http.put(f"/programs/{program_id}/pairing-settings", json={"senior_capacity": 2})
    assert put.status_code == 200
    active, pending = (await completed_round(http, program_id))["proposals"]
    await activate(http, active)

    await feed.withdraw(program_id, senior, "senior", erase=True)

    ended = (await payloads(service, active["pair_id"]))[-1]
    withdrawn = (await payloads(service, pending["pair_id"]))[-1]
    assert ended.event_type == "pairing.PairEnded" and ended.reason == "participant_left"
    assert ended.left_participant_id == senior
    assert withdrawn.event_type == "pairing.ProposalWithdrawn" and withdrawn.reason == "participant_left"
    incremental = await completed_round(http, program_id, "incremental")
    assert incremental["pool_size"] == len(juniors) and incremental["matched"] == 0


async def test_a_closed_program_ends_its_pairs_and_takes_no_more_rounds(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program()
    await feed.participant(program_id, "junior")
    await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]
    await activate(http, proposal)

    await feed.close(program_id)

    ended = (await payloads(service, proposal["pair_id"]))[-1]
    assert ended.event_type == "pairing.PairEnded" and ended.reason == "program_closed"
    refused = await http.post(f"/programs/{program_id}/rounds", json={"kind": "incremental"})
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]


async def test_a_profile_update_changes_what_the_next_round_sees(http: httpx.AsyncClient, feed: EnrollmentFeed) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior", languages=["fr"])
    senior = await feed.participant(program_id, "senior", languages=["de"])
    url = f"/programs/{program_id}/candidates/{junior}/{senior}/compatibility"
    assert (await http.get(url)).json()["violations"] == ["no_shared_language"]

    await feed.update(program_id, senior, "senior", languages=("de", "fr"), display_name="Renamed")

    assert (await http.get(url)).json()["feasible"] is True
    assert (await completed_round(http, program_id))["matched"] == 1


async def test_an_admin_sees_what_pairing_holds_about_a_person_and_an_erasure_forgets_their_profile(
    http: httpx.AsyncClient, feed: EnrollmentFeed
) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior", employee_id="PP-1", department="IT")
    await feed.participant(program_id, "senior")
    [proposal] = (await completed_round(http, program_id))["proposals"]

    held = (await http.get("/people/pp-1")).json()
    await feed.withdraw(program_id, junior, "junior", erase=True)
    forgotten = await http.get("/people/PP-1", params={"download": "true"})

    [membership] = held["memberships"]
    assert held["employee_id"] == "PP-1" and membership["participant_id"] == str(junior)
    assert membership["profile"]["department"] == "IT" and membership["status"] == "approved"
    assert [pair["pair_id"] for pair in held["pairs"]] == [proposal["pair_id"]]
    assert forgotten.json()["memberships"][0]["profile"] is None
    assert forgotten.headers["content-disposition"] == 'attachment; filename="tandem-pairing-PP-1.json"'
    assert (await http.get("/people/nobody")).status_code == 404


async def test_a_manager_line_that_appears_after_the_proposal_refuses_its_acceptance(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program()
    junior = await feed.participant(program_id, "junior", employee_id="ML-J")
    await feed.participant(program_id, "senior", employee_id="ML-S")
    [proposal] = (await completed_round(http, program_id))["proposals"]

    await feed.update(program_id, junior, "junior", manager_employee_id="ML-S")

    for side in ("junior_id", "senior_id"):
        refused = await http.post(f"/proposals/{proposal['pair_id']}/accept", json={"participant_id": proposal[side]})
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "pair-infeasible" and "manager_line" in refused.json()["detail"]
    assert [type(p).__name__ for p in await payloads(service, proposal["pair_id"])] == ["PairProposed"]


async def test_an_active_pair_that_becomes_infeasible_is_flagged_to_the_admin(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program()
    await feed.participant(program_id, "junior", employee_id="FL-J")
    senior = await feed.participant(program_id, "senior", employee_id="FL-S")
    [proposal] = (await completed_round(http, program_id))["proposals"]
    await activate(http, proposal)

    await feed.update(program_id, senior, "senior", manager_employee_id="FL-J")

    flagged = (await payloads(service, proposal["pair_id"]))[-1]
    assert flagged.event_type == "pairing.PairBecameInfeasible" and flagged.violations == ("manager_line",)
    listed: dict[str, Any] = {}

    async def listed_for_the_admin() -> bool:
        listed.update((await http.get(f"/programs/{program_id}/flagged-pairs")).json())
        return bool(listed["items"])

    await eventually(listed_for_the_admin, timeout=10)
    [item] = listed["items"]
    assert (item["pair_id"], item["status"], item["violations"]) == (proposal["pair_id"], "active", ["manager_line"])
    assert (await http.get(f"/pairs/{proposal['pair_id']}")).json()["violations"] == ["manager_line"]
