"""Crypto-shredding: personal fields are sealed at append, opened on read, and gone after erasure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from tandem_kernel.commands import Idempotency, StreamKind, execute
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.events import DomainEvent, EventMetadata, EventRegistry, NewEvent
from tandem_kernel.privacy import SEALED, Personal, SubjectKeys, personal_fields, shred
from tandem_kernel.store import Cursor, EventStore, StoredEvents
from tandem_kernel.testing import eventually


class MemberJoined(DomainEvent, type="test.MemberJoined", version=1):
    member_id: UUID
    name: Personal[str] | None = None
    email: Personal[str] | None = None
    team: str

    def data_subject(self) -> str:
        return str(self.member_id)


class MemberLeft(DomainEvent, type="test.MemberLeft", version=1):
    member_id: UUID


REGISTRY = EventRegistry([MemberJoined, MemberLeft])


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    await migrate(database_url, "privacy_test")
    pool = await create_pool(database_url, "privacy_test", min_size=1, max_size=5)
    try:
        yield EventStore(pool, schema="privacy_test", registry=REGISTRY, keyring=SubjectKeys("test master key"))
    finally:
        await pool.close()


async def join(store: EventStore, name: str = "Grace Hopper") -> MemberJoined:
    event = MemberJoined(member_id=uuid4(), name=name, email="grace@example.com", team="navy")
    await store.append(
        f"member-{event.member_id}", 0, [NewEvent(event), NewEvent(MemberLeft(member_id=event.member_id))]
    )
    return event


def test_personal_fields_are_found_through_unions() -> None:
    assert personal_fields(MemberJoined) == {"name", "email"}
    assert personal_fields(MemberLeft) == frozenset()


def test_a_required_personal_field_is_refused_at_registration() -> None:
    class Careless(DomainEvent, type="test.Careless", version=1):
        name: Personal[str]

    with pytest.raises(ValueError, match="personal fields must be optional"):
        EventRegistry([Careless])


async def test_personal_fields_are_stored_sealed_and_read_back_in_the_clear(store: EventStore) -> None:
    joined = await join(store)

    stored = await store.pool.fetchval("SELECT payload::text FROM events WHERE event_type = 'test.MemberJoined'")
    assert "Grace" not in stored and "grace@example.com" not in stored
    assert SEALED in json.loads(stored)["name"] and json.loads(stored)["team"] == "navy"
    history = await store.read_stream(f"member-{joined.member_id}")
    assert history[0].payload == joined
    # read_all stays below the oldest running transaction on the cluster: wait for it to pass.
    await eventually(lambda: _read_all_is(store, [history[0].payload, history[1].payload]))


async def _read_all_is(store: EventStore, expected: list[DomainEvent]) -> bool:
    return [envelope.payload for envelope in await store.read_all(Cursor.origin())] == expected


async def test_after_shredding_the_key_personal_fields_read_as_none_everywhere(store: EventStore) -> None:
    erased, kept = await join(store, "Ada"), await join(store, "Alan")

    assert await shred(store.pool, str(erased.member_id))

    [joined, _] = await store.read_stream(f"member-{erased.member_id}")
    assert joined.payload == erased.model_copy(update={"name": None, "email": None})
    assert (await store.read_stream(f"member-{kept.member_id}"))[0].payload == kept
    assert not await shred(store.pool, str(erased.member_id))


async def test_readers_without_the_key_see_none_rather_than_failing(store: EventStore) -> None:
    joined = await join(store)

    # A consumer in another service: the wire document, decoded by a registry that holds no keys.
    await eventually(lambda: _wire_rows(store, 2))
    [row, _] = await store.read_all_wire(Cursor.origin(), 10)
    assert "Grace" not in row["document"]
    assert REGISTRY.envelope_from_json(row["document"]).payload == joined.model_copy(
        update={"name": None, "email": None}
    )
    # The same service with the wrong master key, or with no keyring at all.
    for keyring in (SubjectKeys("another master key"), None):
        other = EventStore(store.pool, schema=store.schema, registry=REGISTRY, keyring=keyring)
        assert (await other.read_stream(f"member-{joined.member_id}"))[0].payload.name is None  # type: ignore[attr-defined]


async def test_stored_events_carry_what_the_envelopes_carry_as_json_personal_fields_opened_or_none(
    store: EventStore,
) -> None:
    erased, kept = await join(store, "Ada"), await join(store, "Alan")
    assert await shred(store.pool, str(erased.member_id))
    envelopes = await store.read_stream(f"member-{erased.member_id}") + await store.read_stream(
        f"member-{kept.member_id}"
    )

    for keyring in (store.keyring, SubjectKeys("another master key"), None):
        reader = EventStore(store.pool, schema=store.schema, registry=REGISTRY, keyring=keyring)
        stored = await StoredEvents(reader).read_events([envelope.event_id for envelope in envelopes])

        opened = keyring is store.keyring
        expected = [
            REGISTRY.encode(
                envelope.payload
                if opened
                else envelope.payload.model_copy(update=dict.fromkeys(personal_fields(type(envelope.payload))))
            )
            for envelope in envelopes
        ]
        assert [event.data for event in stored] == expected
        assert [(event.event_id, event.event_type, event.stream_id, event.position) for event in stored] == [
            (envelope.event_id, envelope.event_type, envelope.stream_id, envelope.position) for envelope in envelopes
        ]
    [shredded, _, opened_kept, _] = await StoredEvents(store).read_events([e.event_id for e in envelopes])
    assert (shredded.data["name"], shredded.data["email"], shredded.data["team"]) == (None, None, "navy")
    assert (opened_kept.data["name"], opened_kept.data["email"]) == ("Alan", "grace@example.com")


async def test_a_retried_idempotent_command_keeps_one_key_and_appends_once(store: EventStore) -> None:
    event = MemberJoined(member_id=uuid4(), name="Katherine", team="nasa")
    members: StreamKind[int] = StreamKind("member", lambda events, count: (count or 0) + len(list(events)))
    join = Idempotency.of("join", "join-1", {"member": str(event.member_id)})
    for _ in range(2):
        await execute(store, members, event.member_id, lambda _: [event], metadata=EventMetadata(), idempotency=join)

    assert await store.pool.fetchval("SELECT count(*) FROM subject_keys") == 1
    assert (await store.read_stream(f"member-{event.member_id}"))[0].payload == event


async def _wire_rows(store: EventStore, count: int) -> bool:
    return len(await store.read_all_wire(Cursor.origin(), 10)) == count


async def test_streams_started_in_bulk_are_sealed_and_shreddable_too(store: EventStore) -> None:
    ada = MemberJoined(member_id=uuid4(), name="Ada Lovelace", email="ada@example.com", team="engines")
    alan = MemberJoined(member_id=uuid4(), name="Alan Turing", team="bombes")

    await store.start_streams({f"member-{e.member_id}": [NewEvent(e)] for e in (ada, alan)})

    stored = await store.pool.fetchval("SELECT string_agg(payload::text || data_subject, ' ') FROM events")
    assert "Lovelace" not in stored and "Turing" not in stored and str(ada.member_id) in stored
    assert await shred(store.pool, str(ada.member_id))
    assert (await store.read_stream(f"member-{ada.member_id}"))[0].payload.name is None  # type: ignore[attr-defined]
    assert (await store.read_stream(f"member-{alan.member_id}"))[0].payload == alan


async def test_keys_created_ahead_seal_later_appends_without_a_transaction_of_their_own(store: EventStore) -> None:
    members = [MemberJoined(member_id=uuid4(), name=f"Hedy Lamarr {n}", team="radio") for n in range(20)]
    assert store.keyring is not None
    await store.keyring.for_writing(store.pool, [str(member.member_id) for member in members])

    await asyncio.gather(*(store.append(f"member-{m.member_id}", 0, [NewEvent(m)]) for m in members))

    assert "Lamarr" not in await store.pool.fetchval("SELECT string_agg(payload::text, ' ') FROM events")
    assert (await store.read_stream(f"member-{members[7].member_id}"))[0].payload == members[7]
    assert await store.pool.fetchval("SELECT count(*) FROM subject_keys") == 20
    # No transaction of their own: the twenty appends were grouped, a few commits for all of them.
    assert await store.pool.fetchval("SELECT count(DISTINCT transaction_id) FROM events") < 20


async def test_keys_created_in_a_transaction_that_rolls_back_are_not_used_later(store: EventStore) -> None:
    event = MemberJoined(member_id=uuid4(), name="Rosalind Franklin", team="x-rays")
    assert store.keyring is not None
    async with store.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await store.keyring.for_writing(connection, [str(event.member_id)])
        await transaction.rollback()

    await store.append(f"member-{event.member_id}", 0, [NewEvent(event)])

    assert (await store.read_stream(f"member-{event.member_id}"))[0].payload == event
