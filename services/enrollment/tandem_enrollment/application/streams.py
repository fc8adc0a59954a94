"""Enrollment's two kinds of stream: one per program, one per enrollment (participant)."""

from __future__ import annotations

from uuid import UUID

from tandem_kernel.commands import LatestStates, StreamKind
from tandem_kernel.errors import NotFound
from tandem_kernel.store import EventStore

from tandem_enrollment.domain import Participant, Program, replay_participant, replay_program

__all__ = ["PARTICIPANTS", "PROGRAMS", "load_program"]

PROGRAMS: StreamKind[Program] = StreamKind("program", replay_program)
"""`program-<program id>`"""

PARTICIPANTS: StreamKind[Participant] = StreamKind("participant", replay_participant)
"""`participant-<participant id>`: the Kafka key of every enrollment event, so one person's events
stay in order on one partition."""

PROGRAM_STATES: LatestStates[Program] = LatestStates(PROGRAMS)
"""Every enrollment command reads its program: caught up with the program's new events only (see
`LatestStates`), not read and folded from the start each time (a tenth of an enrollment's CPU)."""


async def load_program(store: EventStore, program_id: UUID) -> Program:
    """The program's current state (as committed when asked); `NotFound` if it does not exist."""
    program = (await PROGRAM_STATES.load(store, program_id)).state
    if program is None:
        raise NotFound("no such program")
    return program
