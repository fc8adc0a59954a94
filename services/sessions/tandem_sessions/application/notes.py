"""Private notes of a pair: sealed with the author's key, readable by the two and nobody else.

Notes never reach an event. Each is sealed (kernel `privacy`) with its author's data key in this
service's keyring: erasing the author shreds the key, and their notes become unreadable at once
(and are deleted).

    note = await notes.write(store, session_id, author_id=junior_id, text="Try the meeting summary", now=now)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg
from tandem_kernel.store import EventStore

__all__ = ["Note", "forget_author", "read", "subject_of", "write"]


@dataclass(frozen=True, slots=True)
class Note:
    note_id: UUID
    session_id: UUID
    author_id: UUID
    text: str
    written_at: datetime


def subject_of(participant_id: UUID) -> str:
    """The data subject whose key seals what `participant_id` wrote."""
    return f"participant-{participant_id}"


async def write(
    store: EventStore, session_id: UUID, pair_id: UUID, *, author_id: UUID, text: str, now: datetime
) -> Note:
    assert store.keyring is not None, "notes are personal data: the store needs its keyring"
    sealed = await store.keyring.seal_bytes(store.pool, subject_of(author_id), text.encode())
    note = Note(uuid4(), session_id, author_id, text, now)
    await store.pool.execute(
        "INSERT INTO notes (note_id, session_id, pair_id, author_id, sealed, written_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        note.note_id,
        session_id,
        pair_id,
        author_id,
        sealed,
        now,
    )
    return note


async def read(store: EventStore, session_id: UUID) -> list[Note]:
    """The session's notes that can still be opened (an erased author's are gone), oldest first."""
    assert store.keyring is not None
    rows = await store.pool.fetch(
        "SELECT note_id, author_id, sealed, written_at FROM notes WHERE session_id = $1 ORDER BY written_at, note_id",
        session_id,
    )
    found = []
    for row in rows:
        try:
            text = await store.keyring.open_bytes(store.pool, subject_of(row["author_id"]), row["sealed"])
        except LookupError:
            continue
        found.append(Note(row["note_id"], session_id, row["author_id"], text.decode(), row["written_at"]))
    return found


async def forget_author(connection: asyncpg.Connection, author_id: UUID) -> None:
    """Delete what an erased participant wrote (their key is shredded in the same transaction)."""
    await connection.execute("DELETE FROM notes WHERE author_id = $1", author_id)
