"""A session's agenda (both may read and edit it) and its private notes (the two only, never HR)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, allow
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, StoreDep
from tandem_kernel.errors import NotFound
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_sessions.application import agendas, notes, sessions
from tandem_sessions.domain.agenda import AgendaItem
from tandem_sessions.entrypoints.bodies import AgendaBody, NoteBody
from tandem_sessions.entrypoints.http_sessions import acting, visible_session
from tandem_sessions.entrypoints.schemas import AgendaPublic, NotePublic

__all__ = ["agenda_router"]

agenda_router = APIRouter(tags=["agendas and notes"], route_class=StrictJSONRoute)

Themselves = Annotated[Principal, allow(PARTICIPANT)]
HrOrAMember = Annotated[Principal, allow(PROGRAM_ADMIN, PARTICIPANT)]


@agenda_router.get("/sessions/{session_id}/agenda", summary="A session's agenda", responses=problems(404))
async def get_agenda(session_id: UUID, store: StoreDep, caller: HrOrAMember) -> AgendaPublic:
    """As edited; or, before any edit, the open items of the previous agenda (or, for a pair's first,
    items from both people's wanted skills and objectives)."""
    pair = await visible_session(store, caller, session_id)
    schedule = await sessions.load(store, pair.pair_id)
    return AgendaPublic.of(session_id, await agendas.read(store, schedule, session_id))


@agenda_router.put(
    "/sessions/{session_id}/agenda", summary="Replace a session's agenda", responses=problems(404, 409, 422)
)
async def put_agenda(
    session_id: UUID,
    body: AgendaBody,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> AgendaPublic:
    """Either of the two edits it (409 for a cancelled session)."""
    pair = await visible_session(store, caller, session_id)
    await acting(store.pool, caller, pair, body.participant_id)
    agenda = agendas.Agenda(tuple(AgendaItem(item.text, item.done) for item in body.items), body.project, True)
    edited = await agendas.edit(
        store, pair.pair_id, session_id, agenda, now=now, metadata=metadata, idempotency=idempotency
    )
    return AgendaPublic.of(session_id, edited)


async def _the_two(store: StoreDep, caller: Principal, session_id: UUID) -> UUID:
    """Notes are for the pair's two people only: anyone else (HR included) finds nothing."""
    pair = await visible_session(store, caller, session_id)
    if caller.has(Roles.PROGRAM_ADMIN) or caller.has(Roles.SERVICE):
        raise NotFound("no such session")
    return pair.pair_id


@agenda_router.get(
    "/sessions/{session_id}/notes", summary="The pair's private notes on a session", responses=problems(404)
)
async def get_notes(session_id: UUID, store: StoreDep, caller: Themselves) -> list[NotePublic]:
    await _the_two(store, caller, session_id)
    return [NotePublic.of(note) for note in await notes.read(store, session_id)]


@agenda_router.post(
    "/sessions/{session_id}/notes",
    summary="Write a private note (sealed; the two only)",
    status_code=201,
    responses=problems(404, 422),
)
async def write_note(session_id: UUID, body: NoteBody, store: StoreDep, now: NowDep, caller: Themselves) -> NotePublic:
    pair_id = await _the_two(store, caller, session_id)
    pair = await visible_session(store, caller, session_id)
    await acting(store.pool, caller, pair, body.participant_id)
    note = await notes.write(store, session_id, pair_id, author_id=body.participant_id, text=body.text, now=now)
    return NotePublic.of(note)
