"""Agendas: read (seeded, or carried over from the previous session) and edited by the two.

An agenda that nobody edited yet is derived when read: the open items of the pair's latest earlier
session that has an agenda, or else a seed from both people's wanted skills and objectives. An
edit stores the items (free text, in this service only) and appends `SessionAgendaUpdated` with
their count, in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from tandem_kernel.commands import Idempotency, execute
from tandem_kernel.events import DomainEvent, EventMetadata
from tandem_kernel.store import EventStore, UnitOfWork

from tandem_sessions.adapters import directory
from tandem_sessions.application.streams import SCHEDULES
from tandem_sessions.domain.agenda import AgendaItem, carry_over, seed_agenda
from tandem_sessions.domain.schedule import PairSchedule, SessionStatus, decide_agenda_updated

__all__ = ["Agenda", "edit", "read"]


@dataclass(frozen=True, slots=True)
class Agenda:
    items: tuple[AgendaItem, ...]
    project: str | None
    edited: bool


def _parse(raw: str) -> Agenda:
    data = json.loads(raw)
    items = tuple(AgendaItem(str(item["text"]), bool(item["done"])) for item in data.get("items", ()))
    return Agenda(items, data.get("project"), True)


async def read(store: EventStore, schedule: PairSchedule, session_id: UUID) -> Agenda:
    """The session's agenda, as edited, or as it starts (carried over, or seeded)."""
    schedule.session(session_id)
    rows = await store.pool.fetch("SELECT session_id, items FROM agendas WHERE pair_id = $1", schedule.pair.pair_id)
    stored = {row["session_id"]: _parse(row["items"]) for row in rows}
    if session_id in stored:
        return stored[session_id]
    ordered = [s for s in schedule.in_order() if s.status is not SessionStatus.CANCELLED or s.session_id in stored]
    position = next((i for i, s in enumerate(ordered) if s.session_id == session_id), len(ordered))
    for earlier in reversed(ordered[:position]):
        if earlier.session_id in stored:
            previous = stored[earlier.session_id]
            return Agenda(carry_over(previous.items), previous.project, False)
    pair = schedule.pair
    people = await directory.load_people(store.pool, [pair.junior_id, pair.senior_id])
    terms = await directory.load_terms(store.pool, pair.program_id)
    titles = terms.objectives if terms is not None else {}
    junior, senior = people.get(pair.junior_id), people.get(pair.senior_id)
    objectives = [*(junior.objectives() if junior else []), *(senior.objectives() if senior else [])]
    return Agenda(
        seed_agenda(
            senior.wanted_skills() if senior else [],
            junior.wanted_skills() if junior else [],
            [titles.get(code, code) for code in objectives],
        ),
        None,
        False,
    )


class _StoreAgenda:
    def __init__(self, session_id: UUID, pair_id: UUID, agenda: Agenda, now: datetime) -> None:
        self.session_id, self.pair_id, self.agenda, self.now = session_id, pair_id, agenda, now

    async def before(self, unit: UnitOfWork) -> None:
        return None

    async def after(self, unit: UnitOfWork, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        document = {
            "items": [{"text": item.text, "done": item.done} for item in self.agenda.items],
            "project": self.agenda.project,
        }
        await unit.connection.execute(
            "INSERT INTO agendas (session_id, pair_id, items, updated_at) VALUES ($1, $2, $3::jsonb, $4)"
            " ON CONFLICT (session_id) DO UPDATE SET items = excluded.items, updated_at = excluded.updated_at",
            self.session_id,
            self.pair_id,
            json.dumps(document),
            self.now,
        )


async def edit(
    store: EventStore,
    pair_id: UUID,
    session_id: UUID,
    agenda: Agenda,
    *,
    now: datetime,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> Agenda:
    """Replace the session's agenda (not for a cancelled session)."""
    await execute(
        store,
        SCHEDULES,
        pair_id,
        lambda state: decide_agenda_updated(state, session_id, item_count=len(agenda.items)),
        occurred_at=now,
        metadata=metadata,
        idempotency=idempotency,
        around=_StoreAgenda(session_id, pair_id, agenda, now),
    )
    return Agenda(agenda.items, agenda.project, True)
