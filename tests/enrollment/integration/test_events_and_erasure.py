"""What enrollment publishes on the real broker, and erasure by crypto-shredding end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from enrollment.integration.conftest import RunningService, eventually_ok, open_program, person
from tandem_enrollment.adapters.read_model import READ_SCHEMA, participants_projection
from tandem_enrollment.entrypoints.app import registry
from tandem_kernel.database import create_pool
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.privacy import SubjectKeys
from tandem_kernel.projections import ProjectionRunner
from tandem_kernel.store import EventStore

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.broker]

TOPIC = "tandem.enrollment.v1"


async def messages_keyed(broker: DevBroker, key: str, count: int, timeout: float = 20.0) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """The first `count` messages with `key` on the topic (other tests publish there too)."""
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest")
    await consumer.start()
    found: list[ConsumerRecord] = []  # type: ignore[type-arg]
    try:
        async with asyncio.timeout(timeout):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    found += [record for record in records if record.key == key.encode()]
    finally:
        await consumer.stop()
    return sorted(found, key=lambda record: registry().envelope_from_json(record.value).stream_version)


def headers(record: ConsumerRecord) -> dict[str, str]:  # type: ignore[type-arg]
    return {name: value.decode() for name, value in record.headers}


@pytest_asyncio.fixture(loop_scope="module")
async def database(service: RunningService) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(service.database_url, server_settings={"search_path": "enrollment"})
    try:
        yield connection
    finally:
        await connection.close()


async def test_an_enrollment_is_published_keyed_by_its_stream_with_cloudevents_headers(
    http: httpx.AsyncClient, broker: DevBroker
) -> None:
    program_id = await open_program(http, auto_approve=True)
    enrolled = (await http.post(f"/programs/{program_id}/enrollments", json=person(0))).json()
    stream_id = f"participant-{enrolled['participant_id']}"

    [first, second] = await messages_keyed(broker, stream_id, 2)

    envelope = registry().envelope_from_json(first.value)
    assert headers(first)["ce_type"] == "enrollment.ParticipantEnrolled"
    assert headers(second)["ce_type"] == "enrollment.ParticipantApproved"
    assert headers(first)["ce_source"] == "/tandem/enrollment"
    assert headers(first)["ce_subject"] == stream_id
    assert headers(first)["ce_id"] == str(envelope.event_id)
    assert headers(first)["ce_specversion"] == "1.0" and "traceparent" in headers(first)
    assert str(envelope.payload.participant_id) == enrolled["participant_id"]  # type: ignore[attr-defined]
    assert str(envelope.payload.program_id) == program_id  # type: ignore[attr-defined]
    assert (envelope.actor, envelope.actor_role, envelope.actor_client) == ("hr-admin", "program_admin", "tandem-web")
    # Another service holds no keys: it reads the event, without the personal fields.
    assert envelope.payload.display_name is None  # type: ignore[attr-defined]
    assert envelope.payload.department == person(0)["department"]  # type: ignore[attr-defined]
    assert person(0)["display_name"].encode() not in first.value


async def test_erasure_leaves_no_readable_personal_data_and_keeps_the_counts(
    http: httpx.AsyncClient, broker: DevBroker, database: asyncpg.Connection, service: RunningService
) -> None:
    program_id = await open_program(http, capacity=1, auto_approve=True)
    name, email, goals = "Zelda Quirinal", "zelda.quirinal@example.com", "Learn to love spreadsheets"
    erased_body = person(0, display_name=name, email=email, personal_goals=goals)
    erased = (await http.post(f"/programs/{program_id}/enrollments", json=erased_body)).json()["participant_id"]
    kept = (await http.post(f"/programs/{program_id}/enrollments", json=person(1))).json()["participant_id"]
    await http.patch(f"/programs/{program_id}/enrollments/{erased}", json={"email": "zelda.q@example.com"})
    url = f"/programs/{program_id}/enrollments/{erased}"
    assert (await eventually_ok(http, url, lambda body: body["version"] == 3))["display_name"] == name
    before = (await http.get(f"/programs/{program_id}")).json()["participants"]

    response = await http.delete(f"{url}/personal-data")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["erased"]) == ("withdrawn", True)
    found = await eventually_ok(http, url, lambda body: body["erased"])
    assert (found["display_name"], found["email"], found["personal_goals"]) == (None, None, None)
    assert (found["employee_id"], found["role"], found["department"]) == ("E01001", "junior", person(0)["department"])
    # The place the erased participant held went to the waitlist.
    await eventually_ok(http, f"/programs/{program_id}/enrollments/{kept}", lambda body: body["status"] == "approved")
    after = (await http.get(f"/programs/{program_id}")).json()["participants"]
    assert sum(before[s] for s in ("applied", "approved", "waitlisted", "withdrawn")) == 2
    assert (after["approved"], after["waitlisted"], after["withdrawn"]) == (1, 0, 1)
    assert (await http.get(f"/programs/{program_id}/participants")).json()["items"][0]["participant_id"] == erased

    stored = await database.fetchval("SELECT string_agg(payload::text, ' ') FROM events")
    for secret in (name, email, "zelda.q@example.com", goals):
        assert secret not in stored
    assert not await database.fetchval("SELECT count(*) FROM subject_keys WHERE subject = $1", erased)
    messages = await messages_keyed(broker, f"participant-{erased}", 5)
    assert [headers(record)["ce_type"] for record in messages] == [
        "enrollment.ParticipantEnrolled",
        "enrollment.ParticipantApproved",
        "enrollment.ParticipantProfileUpdated",
        "enrollment.ParticipantWithdrew",
        "enrollment.ParticipantErased",
    ]
    assert not any(secret.encode() in record.value for record in messages for secret in (name, email, goals))

    await assert_a_rebuilt_read_model_knows_only_the_kept_name(service, program_id, erased, kept)


async def assert_a_rebuilt_read_model_knows_only_the_kept_name(
    service: RunningService, program_id: str, erased: str, kept: str
) -> None:
    pool = await create_pool(service.database_url, "enrollment", min_size=1, max_size=2)
    try:
        keys = SubjectKeys(service.settings.personal_data_master_key)
        store = EventStore(pool, schema="enrollment", registry=registry(), keyring=keys)
        runner = ProjectionRunner(participants_projection, store, dsn=service.database_url)
        await runner.rebuild()
        names = dict(
            await pool.fetch(
                f"SELECT participant_id::text, display_name FROM {READ_SCHEMA}.participants WHERE program_id = $1",
                program_id,
            )
        )
    finally:
        await pool.close()
    assert names == {erased: None, kept: person(1)["display_name"]}


async def test_erasure_is_of_the_person_in_every_program_they_enrolled_in(
    http: httpx.AsyncClient, database: asyncpg.Connection
) -> None:
    programs = [await open_program(http) for _ in range(2)]
    body = person(0, employee_id="erin-7", display_name="Erin Seven", email="erin.seven@example.com")
    ids = [(await http.post(f"/programs/{p}/enrollments", json=body)).json()["participant_id"] for p in programs]
    urls = [f"/programs/{p}/enrollments/{i}" for p, i in zip(programs, ids, strict=True)]
    for url in urls:
        await eventually_ok(http, url)
    # Enrollments from before people were the data subjects were sealed under the enrollment's own key.
    await database.execute("INSERT INTO subject_keys (subject, wrapped_key) VALUES ($1, '\\x00')", ids[1])

    erased = await http.delete(f"{urls[0]}/personal-data")

    assert erased.status_code == 200 and erased.json()["erased"] is True
    for url in urls:  # the other program's enrollment too: the data subject is the person
        found = await eventually_ok(http, url, lambda body: body["erased"])
        assert (found["display_name"], found["email"], found["status"]) == (None, None, "withdrawn")
    assert not await database.fetchval("SELECT count(*) FROM subject_keys WHERE subject LIKE '%ERIN-7%'")
    assert not await database.fetchval("SELECT count(*) FROM subject_keys WHERE subject = $1", ids[1])
    stored = await database.fetchval("SELECT string_agg(payload::text, ' ') FROM events")
    assert "Erin Seven" not in stored and "erin.seven@example.com" not in stored


async def test_an_admin_sees_everything_held_about_a_person_and_erases_it_in_one_request(
    http: httpx.AsyncClient,
) -> None:
    programs = [await open_program(http, name=f"Access {n}") for n in range(2)]
    body = person(1, employee_id="acc-1", display_name="Ada Access")
    for program_id in programs:
        assert (await http.post(f"/programs/{program_id}/enrollments", json=body)).status_code == 201
    await eventually_ok(http, "/people/acc-1", lambda found: len(found["enrollments"]) == 2)

    seen = (await http.get("/people/ACC-1")).json()
    download = await http.get("/people/acc-1", params={"download": "true"})
    erased = await http.delete("/people/Acc-1/personal-data")

    assert seen["employee_id"] == "ACC-1"
    assert {e["program_id"] for e in seen["enrollments"]} == set(programs)
    assert {e["program_name"] for e in seen["enrollments"]} == {"Access 0", "Access 1"}
    assert {e["display_name"] for e in seen["enrollments"]} == {"Ada Access"}
    assert download.headers["content-disposition"] == 'attachment; filename="tandem-enrollment-ACC-1.json"'
    assert download.json() == seen
    assert erased.status_code == 200, erased.text
    assert [(e["status"], e["erased"]) for e in erased.json()["enrollments"]] == [("withdrawn", True)] * 2
    after = await eventually_ok(http, "/people/acc-1", lambda found: all(e["erased"] for e in found["enrollments"]))
    assert {e["display_name"] for e in after["enrollments"]} == {None}
    assert (await http.delete("/people/acc-1/personal-data")).status_code == 200  # again: nothing changes
    missing = await http.get("/people/nobody-here")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
