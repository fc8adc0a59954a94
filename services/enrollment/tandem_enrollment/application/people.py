"""The person behind the enrollments: the data subject of the right of access and of erasure.

An employee may enroll in many programs; their personal data is theirs across all of them, so
erasure concerns the person, every enrollment at once:

    erased = await people.erase(store, "E1001", metadata=metadata)   # each enrollment, withdrawn and erased

Their enrollments are found on the write side: the enrollment id of an employee in a program is
derived from both (`enrollment_id`), so each program the read model knows is asked for the stream
of that id, however far the read model lags behind the enrollments themselves. Enrollments made
before ids were canonical (`p-j2w` rather than `P-J2W`) are found through the read model.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from tandem_kernel.commands import CommandResult, Idempotency
from tandem_kernel.errors import NotFound
from tandem_kernel.events import EventMetadata
from tandem_kernel.store import EventStore

from tandem_enrollment.adapters import queries
from tandem_enrollment.application import enrollments
from tandem_enrollment.application.streams import PARTICIPANTS
from tandem_enrollment.domain import Participant, enrollment_id

__all__ = ["enrollments_of", "erase", "erase_holder"]


async def enrollments_of(store: EventStore, employee_id: str) -> list[Participant]:
    """Every enrollment of the employee (`employee_id` in any case), in every program, as it stands."""
    canonical = employee_id.upper()
    candidates = {enrollment_id(program_id, canonical) for program_id in await queries.program_ids(store.pool)}
    candidates |= set(await queries.enrollments_of_employee(store.pool, canonical))
    found = []
    for participant_id in sorted(candidates):
        state = (await PARTICIPANTS.load(store, participant_id)).state
        if state is not None and state.employee_id.upper() == canonical:
            found.append(state)
    return found


async def erase(
    store: EventStore, employee_id: str, *, metadata: EventMetadata, idempotency: Idempotency | None = None
) -> list[CommandResult[Participant]]:
    """Erase the person: withdraw and erase each of their enrollments and shred their keys.

    Their ids, roles and statuses stay, so counts do not change; name, email and goals are
    unreadable everywhere from each commit on. Erasing again changes nothing. `NotFound` if the
    employee never enrolled.
    """
    found = await enrollments_of(store, employee_id)
    if not found:
        raise NotFound("no enrollment of this employee")
    results = []
    for participant in found:
        # One key per enrollment stream: a retry of the whole request replays each of them.
        key = None if idempotency is None else replace(idempotency, key=f"{idempotency.key}:{participant.program_id}")
        results.append(
            await enrollments.erase(
                store, participant.program_id, participant.participant_id, metadata=metadata, idempotency=key
            )
        )
    return results


async def erase_holder(
    store: EventStore,
    program_id: UUID,
    participant_id: UUID,
    *,
    metadata: EventMetadata,
    idempotency: Idempotency | None = None,
) -> CommandResult[Participant]:
    """Erase the person who holds this enrollment (all their enrollments); returns this one's outcome."""
    state = (await PARTICIPANTS.load(store, participant_id)).state
    if state is None or state.program_id != program_id:
        raise NotFound("no such enrollment")
    results = await erase(store, state.employee_id, metadata=metadata, idempotency=idempotency)
    return next(
        result for result in results if result.state is not None and result.state.participant_id == participant_id
    )
