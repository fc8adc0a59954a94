"""Sessions over HTTP: a pair's sessions, a participant's, one session; reschedule, cancel, add,
record the outcome.

Participants see their own pairs' sessions only (404 for anyone else's, as if it did not exist);
program admins see their programs'. Only the two act on a session, each for themselves.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query
from tandem_kernel.access import PARTICIPANT, PROGRAM_ADMIN, allow, sees_program, service
from tandem_kernel.api import IdempotencyDep, MetadataDep, NowDep, PoolDep, StoreDep
from tandem_kernel.errors import DomainError, NotFound
from tandem_kernel.identity import Principal, Roles
from tandem_kernel.openapi import problems
from tandem_kernel.strict import StrictJSONRoute

from tandem_sessions.adapters import directory, ledger
from tandem_sessions.application import sessions
from tandem_sessions.domain.schedule import PairRef
from tandem_sessions.entrypoints.bodies import Act, AddSession, Attendance, Cancel, Reschedule
from tandem_sessions.entrypoints.schemas import PairOverview, PairSessions, SessionPublic

__all__ = ["acting", "may_see_pair", "sessions_router", "visible_session"]

sessions_router = APIRouter(tags=["sessions"], route_class=StrictJSONRoute)

Themselves = Annotated[Principal, allow(PARTICIPANT)]
HrReaderOrAMember = Annotated[Principal, allow(PROGRAM_ADMIN, service("sessions:read"), PARTICIPANT)]
HrOrReader = Annotated[Principal, allow(PROGRAM_ADMIN, service("sessions:read"))]

_NO_SESSION = "no such session"


async def _is(pool: asyncpg.Pool, caller: Principal, participant_id: UUID) -> bool:
    """Whether the caller is the employee behind `participant_id` (an enrollment)."""
    profile = await directory.load_profile(pool, participant_id)
    return profile is not None and caller.is_employee(profile.employee_id)


async def may_see_pair(pool: asyncpg.Pool, caller: Principal, pair: PairRef) -> bool:
    if caller.has(Roles.PROGRAM_ADMIN) or caller.has(Roles.SERVICE):
        return sees_program(caller, pair.program_id)
    return await _is(pool, caller, pair.junior_id) or await _is(pool, caller, pair.senior_id)


async def acting(pool: asyncpg.Pool, caller: Principal, pair: PairRef, participant_id: UUID) -> None:
    """A participant acts for themselves, on a pair of theirs; anything else is not there (404)."""
    if participant_id not in (pair.junior_id, pair.senior_id) or not await _is(pool, caller, participant_id):
        raise NotFound(_NO_SESSION)


async def visible_session(store: StoreDep, caller: Principal, session_id: UUID) -> PairRef:
    """The pair of a session the caller may see; 404 otherwise."""
    pair_id = await sessions.pair_of(store, session_id)
    pair = await directory.load_pair(store.pool, pair_id)
    if pair is None or not await may_see_pair(store.pool, caller, pair.ref):
        raise NotFound(_NO_SESSION)
    return pair.ref


@sessions_router.get("/pairs/{pair_id}/sessions", summary="A pair's sessions", responses=problems(404))
async def pair_sessions(pair_id: UUID, store: StoreDep, caller: HrReaderOrAMember) -> PairSessions:
    """Every session of the pair in order (cancelled ones included), and whether the pair needs
    attention (no common slot…) or is at risk (no held session lately, repeated cancellations)."""
    # From the ledger, which every schedule append updates in its transaction: a read that every
    # participant's client polls does not replay the pair's whole schedule stream (it grows weekly).
    pair = await directory.load_pair(store.pool, pair_id)
    if pair is None or not await may_see_pair(store.pool, caller, pair.ref):
        raise NotFound("no such pair")
    rows = await ledger.sessions_of_pair(store.pool, pair_id)
    return PairSessions(
        pair_id=pair_id,
        needs_attention=pair.attention,
        at_risk=sorted(pair.at_risk),
        closed=pair.status != "active",  # the pair's end closes its schedule in the same transaction
        sessions=[SessionPublic.of_row(row) for row in rows],
    )


@sessions_router.get(
    "/programs/{program_id}/pairs", summary="A program's pairs: attention, risk and sessions", responses=problems(404)
)
async def program_pairs(program_id: UUID, pool: PoolDep, now: NowDep, caller: HrOrReader) -> list[PairOverview]:
    """Each pair of the program with why it needs attention (no common slot…), whether it is at risk
    (no held session in two cadence periods, the same person cancelling twice in a row), and its
    sessions counted by status."""
    if not sees_program(caller, program_id) or await directory.load_terms(pool, program_id) is None:
        raise NotFound("no such program")
    return [PairOverview.model_validate(row) for row in await ledger.pairs_of_program(pool, program_id, now)]


@sessions_router.get(
    "/participants/{participant_id}/sessions", summary="A participant's sessions", responses=problems(404)
)
async def participant_sessions(
    participant_id: UUID,
    pool: PoolDep,
    now: NowDep,
    caller: HrReaderOrAMember,
    upcoming: Annotated[bool, Query(description="Only scheduled sessions still to come")] = True,
) -> list[SessionPublic]:
    """The participant's sessions across their pairs, in order: by default only those to come."""
    profile = await directory.load_profile(pool, participant_id)
    theirs = profile is not None and caller.is_employee(profile.employee_id)
    hr = caller.has(Roles.PROGRAM_ADMIN) or caller.has(Roles.SERVICE)
    if profile is None or not (theirs or (hr and sees_program(caller, profile.program_id))):
        raise NotFound("no such participant")
    rows = await ledger.sessions_of_person(
        pool, participant_id, since=now if upcoming else None, scheduled_only=upcoming
    )
    return [SessionPublic.of_row(row) for row in rows]


@sessions_router.get("/sessions/{session_id}", summary="One session", responses=problems(404))
async def get_session(session_id: UUID, store: StoreDep, caller: HrReaderOrAMember) -> SessionPublic:
    await visible_session(store, caller, session_id)
    row = await ledger.session_row(store.pool, session_id)
    if row is None:
        raise NotFound(_NO_SESSION)
    return SessionPublic.of_row(row)


@sessions_router.post(
    "/sessions/{session_id}/reschedule",
    summary="Propose another time; the other one accepts or refuses",
    responses=problems(404, 409, 422),
)
async def propose_reschedule(
    session_id: UUID,
    body: Reschedule,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> SessionPublic:
    """Refused (409) for a time in the past, outside either one's availability or working days, or
    over another session of theirs, and for a session that is no longer scheduled."""
    pair = await visible_session(store, caller, session_id)
    await acting(store.pool, caller, pair, body.participant_id)
    session = await sessions.propose_reschedule(
        store,
        session_id,
        by=body.participant_id,
        starts_at=body.starts_at,
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return SessionPublic.of(await sessions.load(store, pair.pair_id), session)


@sessions_router.post(
    "/sessions/{session_id}/reschedule/accept",
    summary="Accept the other one's proposed time: the session moves",
    responses=problems(404, 409),
)
async def accept_reschedule(
    session_id: UUID,
    body: Act,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> SessionPublic:
    pair = await visible_session(store, caller, session_id)
    await acting(store.pool, caller, pair, body.participant_id)
    session = await sessions.accept_reschedule(
        store, session_id, by=body.participant_id, now=now, metadata=metadata, idempotency=idempotency
    )
    return SessionPublic.of(await sessions.load(store, pair.pair_id), session)


@sessions_router.post(
    "/sessions/{session_id}/reschedule/refuse",
    summary="Refuse the other one's proposed time: the session stays",
    responses=problems(404, 409),
)
async def refuse_reschedule(
    session_id: UUID,
    body: Act,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> SessionPublic:
    pair = await visible_session(store, caller, session_id)
    await acting(store.pool, caller, pair, body.participant_id)
    session = await sessions.refuse_reschedule(
        store, session_id, by=body.participant_id, now=now, metadata=metadata, idempotency=idempotency
    )
    return SessionPublic.of(await sessions.load(store, pair.pair_id), session)


@sessions_router.post(
    "/sessions/{session_id}/cancel", summary="Cancel a session, with a reason", responses=problems(404, 409)
)
async def cancel(
    session_id: UUID,
    body: Cancel,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> SessionPublic:
    """Late when less than 24 hours before the start; the same person cancelling twice in a row puts
    the pair at risk."""
    pair = await visible_session(store, caller, session_id)
    await acting(store.pool, caller, pair, body.participant_id)
    session = await sessions.cancel(
        store,
        session_id,
        by=body.participant_id,
        reason=body.cancel_reason(),
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return SessionPublic.of(await sessions.load(store, pair.pair_id), session)


@sessions_router.post(
    "/pairs/{pair_id}/sessions", summary="Add an extra session", status_code=201, responses=problems(404, 409, 422)
)
async def add_session(
    pair_id: UUID,
    body: AddSession,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> SessionPublic:
    """At a time that suits both (availability, working days, no other session of theirs)."""
    pair = await directory.load_pair(store.pool, pair_id)
    if pair is None:
        raise NotFound("no such pair")
    await acting(store.pool, caller, pair.ref, body.participant_id)
    session = await sessions.add(
        store,
        pair_id,
        starts_at=body.starts_at,
        duration_minutes=body.duration_minutes,
        now=now,
        metadata=metadata,
        idempotency=idempotency,
    )
    return SessionPublic.of(await sessions.load(store, pair_id), session)


@sessions_router.post(
    "/sessions/{session_id}/attendance",
    summary="Record what happened: held (how long) or a no-show (who)",
    responses=problems(404, 409, 422),
)
async def record_attendance(
    session_id: UUID,
    body: Attendance,
    store: StoreDep,
    metadata: MetadataDep,
    idempotency: IdempotencyDep,
    now: NowDep,
    caller: Themselves,
) -> SessionPublic:
    """After the session's start only (409 before, and for a cancelled session)."""
    pair = await visible_session(store, caller, session_id)
    await acting(store.pool, caller, pair, body.participant_id)
    if body.outcome == "held":
        if body.duration_minutes is None:
            raise DomainError("a held session needs its duration", field="duration_minutes")
        session = await sessions.record_held(
            store,
            session_id,
            duration_minutes=body.duration_minutes,
            now=now,
            metadata=metadata,
            idempotency=idempotency,
        )
    else:
        session = await sessions.record_missed(
            store, session_id, absent=body.absent, now=now, metadata=metadata, idempotency=idempotency
        )
    return SessionPublic.of(await sessions.load(store, pair.pair_id), session)
