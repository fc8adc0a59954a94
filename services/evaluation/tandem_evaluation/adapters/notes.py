"""Free text (comments, practice descriptions, the survey's open text), sealed with the participant's
own key (the kernel's `privacy`), never in an event. Erasing the participant shreds the key: the rows
stay, unreadable.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
from tandem_kernel.privacy import SubjectKeys, shred

__all__ = ["erase", "read", "subject", "write"]


def subject(participant_id: UUID) -> str:
    """The data subject of a participant's notes here."""
    return f"evaluation-participant-{participant_id}"


async def write(
    connection: asyncpg.Connection, keys: SubjectKeys, participant_id: UUID, about: str, text: str, at: datetime
) -> None:
    sealed = await keys.seal_bytes(connection, subject(participant_id), text.encode())
    await connection.execute(
        "INSERT INTO notes (participant_id, about, sealed, written_at) VALUES ($1, $2, $3, $4)",
        participant_id,
        about,
        sealed,
        at,
    )


async def read(executor: asyncpg.Connection | asyncpg.Pool, keys: SubjectKeys, participant_id: UUID) -> dict[str, str]:
    """The participant's latest note on each subject (nothing once erased)."""
    rows = await executor.fetch(
        "SELECT DISTINCT ON (about) about, sealed FROM notes WHERE participant_id = $1"
        " ORDER BY about, written_at DESC, note_id DESC",
        participant_id,
    )
    opened = {}
    for row in rows:
        try:
            opened[row["about"]] = (await keys.open_bytes(executor, subject(participant_id), row["sealed"])).decode()
        except LookupError:  # erased: nothing left to read, by design
            return {}
    return opened


async def erase(connection: asyncpg.Connection, participant_id: UUID) -> bool:
    return await shred(connection, subject(participant_id))
