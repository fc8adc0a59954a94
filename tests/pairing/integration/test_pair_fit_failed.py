"""Evaluation found a pair is not a good fit (`PairFitFailed`): pairing ends it, forbids the two as
partners, and the next incremental round pairs each of them with someone else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from pairing.integration.conftest import Pairing, completed_round, proposals_of
from pairing.integration.enrollment_feed import EnrollmentFeed
from tandem_evaluation.domain.events import EVALUATION_EVENTS
from tandem_evaluation.domain.events import PairFitFailed as FitFailedAsPublished
from tandem_kernel.consumers import MessageProcessor, Outcome
from tandem_kernel.events import EventRegistry
from tandem_kernel.published import Publisher
from tandem_kernel.testing import eventually
from tandem_pairing.application.fit import fit_subscription

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]


async def _no_dead_letters(*args: object) -> None:
    raise AssertionError(f"nothing here should be dead-lettered: {args}")


async def deliver_fit_failed(service: Pairing, proposal: dict[str, Any]) -> None:
    """Evaluation's own event, through the production wire path, to pairing's subscription."""
    producer = await Publisher.start(service.database_url, "evaluation", EventRegistry(EVALUATION_EVENTS))
    try:
        failed = FitFailedAsPublished(
            pair_id=UUID(proposal["pair_id"]),
            program_id=UUID(proposal["program_id"]),
            junior_id=UUID(proposal["junior_id"]),
            senior_id=UUID(proposal["senior_id"]),
            at=datetime.now(UTC),
        )
        processor = MessageProcessor(fit_subscription(service.store), service.pool, _no_dead_letters)
        for message in await producer.publish(f"pair-fit-{proposal['pair_id']}", [failed]):
            assert await processor.process(message) == Outcome.HANDLED
        for message in await producer.publish(f"pair-fit-{proposal['pair_id']}", [failed]):  # said again
            assert await processor.process(message) == Outcome.HANDLED
    finally:
        await producer.close()


async def test_a_pair_that_does_not_fit_ends_and_both_are_paired_with_someone_else(
    http: httpx.AsyncClient, feed: EnrollmentFeed, service: Pairing
) -> None:
    program_id = await feed.program()
    for _ in range(2):
        await feed.participant(program_id, "junior")
        await feed.participant(program_id, "senior")
    first, second = (await completed_round(http, program_id))["proposals"]
    for proposal in (first, second):
        for side in ("junior_id", "senior_id"):
            answer = await http.post(
                f"/proposals/{proposal['pair_id']}/accept", json={"participant_id": proposal[side]}
            )
            assert answer.status_code == 200, answer.text
    await http.post(f"/pairs/{second['pair_id']}/end", json={"reason": "other"})  # the other two are free too

    await deliver_fit_failed(service, {**first, "program_id": str(program_id)})

    ended: dict[str, Any] = {}

    async def read_model_shows_the_end() -> bool:  # the pairs read model follows the store a moment later
        ended.update((await http.get(f"/pairs/{first['pair_id']}")).json())
        return bool(ended["status"] == "ended")

    await eventually(read_model_shows_the_end, timeout=10)
    assert ended["reason"] == "not_a_good_fit"
    [end] = [e for e in await service.store.read_stream(f"pair-{first['pair_id']}") if e.event_type.endswith("Ended")]
    assert end.payload.reason == "not_a_good_fit"  # once, though evaluation said it twice
    rules = (await http.get(f"/programs/{program_id}/pairing-settings")).json()
    assert {"junior_id": first["junior_id"], "senior_id": first["senior_id"]} in rules["forbidden_pairs"]
    again = await completed_round(http, program_id, "incremental")
    proposed = set(proposals_of(again))
    assert (first["junior_id"], first["senior_id"]) not in proposed
    assert (first["junior_id"], second["senior_id"]) in proposed  # re-paired, crosswise
    assert (second["junior_id"], first["senior_id"]) in proposed
