"""An Idempotency-Key answers one request: a retry gets the first answer (even one that overlaps the
first request), another request under the same key is refused (422) rather than answered wrongly."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import httpx
import pytest
from enrollment.integration.conftest import RunningService, eventually_ok, open_program, person
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, load_demo
from tandem_kernel.devrun import DemoSignIn
from tandem_kernel.testing import TokenBook

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"test-{uuid4()}"}


async def test_creating_a_program_twice_at_once_with_one_key_gives_one_program_and_the_same_answer(
    http: httpx.AsyncClient,
) -> None:
    headers = key()

    answers = await asyncio.gather(*(http.post("/programs", json=DEMO_PROGRAM, headers=headers) for _ in range(6)))

    assert [answer.status_code for answer in answers] == [201] * 6
    assert len({answer.json()["program_id"] for answer in answers}) == 1


async def test_enrolling_twice_at_once_with_one_key_gives_the_same_answer_twice(http: httpx.AsyncClient) -> None:
    program_id = await open_program(http)
    headers, body = key(), person(0)

    answers = await asyncio.gather(
        *(http.post(f"/programs/{program_id}/enrollments", json=body, headers=headers) for _ in range(6))
    )

    assert [answer.status_code for answer in answers] == [201] * 6, [a.text for a in answers]
    assert len({answer.text for answer in answers}) == 1


@pytest.mark.parametrize(
    "change",
    [{"role": "senior"}, {"department": "Legal"}],
    ids=["another role", "another department"],
)
async def test_the_same_key_with_another_enrollment_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, change: dict[str, str]
) -> None:
    program_id = await open_program(http)
    headers = key()
    first = await http.post(f"/programs/{program_id}/enrollments", json=person(0), headers=headers)

    second = await http.post(f"/programs/{program_id}/enrollments", json=person(0, **change), headers=headers)

    assert first.status_code == 201
    assert second.status_code == 422
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_the_same_key_creating_another_program_is_refused(http: httpx.AsyncClient) -> None:
    headers = key()
    first = await http.post("/programs", json=DEMO_PROGRAM, headers=headers)

    second = await http.post("/programs", json={**DEMO_PROGRAM, "name": "Another program"}, headers=headers)

    assert (first.status_code, second.status_code) == (201, 422)


async def test_two_demo_loaders_started_at_once_load_one_demo(
    service: RunningService, http: httpx.AsyncClient, tokens: TokenBook
) -> None:
    """`make run` twice, or two replicas loading at boot: the loaders' keys make them converge."""
    urls = {"enrollment": service.url}
    sign_in = DemoSignIn(tokens.provider, await tokens.token("hr-admin"), await tokens.service_token("platform"))
    created_before = await programs_created(service)

    await asyncio.gather(load_demo(urls, sign_in), load_demo(urls, sign_in))

    assert await programs_created(service) == created_before + 1
    demo = await http.post("/programs", json=DEMO_PROGRAM, headers={"Idempotency-Key": "demo:program"})
    participants = f"/programs/{demo.json()['program_id']}/participants?limit=500"
    await eventually_ok(http, participants, lambda page: len(page["items"]) == 40)


async def programs_created(service: RunningService) -> int:
    connection = await asyncpg.connect(service.database_url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM enrollment.events WHERE event_type = 'enrollment.ProgramCreated'"
        )
    finally:
        await connection.close()
    return count
