"""A program's stream: decide what happens, and fold what happened into state.

The lifecycle runs one way: draft → open → running → closed. Objectives and eligibility rules may
change while the program is a draft or open, never once it runs.

>>> events = decide_create_program(None, command, program_id=program_id)
>>> program = replay_program(events)
>>> program = replay_program(decide_open_program(program), program)
>>> program.status
<ProgramStatus.OPEN: 'open'>
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import reduce
from uuid import UUID

from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent

from tandem_enrollment.domain.commands import ChangeEligibilityRules, ChangeProgramObjectives, CreateProgram
from tandem_enrollment.domain.eligibility import EligibilityRules
from tandem_enrollment.domain.events import (
    ProgramClosed,
    ProgramCreated,
    ProgramEligibilityChanged,
    ProgramObjectivesChanged,
    ProgramOpened,
    ProgramStarted,
)
from tandem_enrollment.domain.values import Objective, ProgramStatus

__all__ = [
    "Program",
    "decide_change_eligibility",
    "decide_change_objectives",
    "decide_close_program",
    "decide_create_program",
    "decide_open_program",
    "decide_start_program",
    "evolve_program",
    "replay_program",
]

_EDITABLE = frozenset({ProgramStatus.DRAFT, ProgramStatus.OPEN})


@dataclass(frozen=True, slots=True)
class Program:
    """What decisions about a program and its enrollments need to know of it.

    Names, dates and cadence are not here: no rule depends on them, read models keep them.
    """

    program_id: UUID
    status: ProgramStatus
    objectives: tuple[Objective, ...]
    eligibility: EligibilityRules
    languages: tuple[str, ...]
    capacity: int | None
    auto_approve: bool

    @property
    def objective_codes(self) -> frozenset[str]:
        """The codes participants may choose from."""
        return frozenset(objective.code for objective in self.objectives)


def _existing(state: Program | None) -> Program:
    if state is None:
        raise NotFound("no such program")
    return state


def _editable(state: Program | None, what: str) -> Program:
    program = _existing(state)
    if program.status not in _EDITABLE:
        raise InvalidTransition(f"{what} can change while the program is draft or open, not {program.status}")
    return program


def _advance(program: Program, expected: ProgramStatus, event: DomainEvent, verb: str) -> list[DomainEvent]:
    if program.status is not expected:
        raise InvalidTransition(f"only a {expected} program can be {verb}; this one is {program.status}")
    return [event]


def decide_create_program(state: Program | None, command: CreateProgram, *, program_id: UUID) -> list[DomainEvent]:
    """Create a program in draft under `program_id`; a program is created once."""
    if state is not None:
        raise InvalidTransition("this program already exists")
    return [ProgramCreated(program_id=program_id, **dict(command))]


def decide_change_objectives(state: Program | None, command: ChangeProgramObjectives) -> list[DomainEvent]:
    """Replace the catalogue of objectives; nothing happens if it is unchanged."""
    program = _editable(state, "objectives")
    if command.objectives == program.objectives:
        return []
    return [ProgramObjectivesChanged(program_id=program.program_id, objectives=command.objectives)]


def decide_change_eligibility(state: Program | None, command: ChangeEligibilityRules) -> list[DomainEvent]:
    """Replace the eligibility rules; nothing happens if they are unchanged.

    The rules apply to enrollments from now on; people already enrolled stay.
    """
    program = _editable(state, "eligibility rules")
    if command.eligibility == program.eligibility:
        return []
    return [ProgramEligibilityChanged(program_id=program.program_id, eligibility=command.eligibility)]


def decide_open_program(state: Program | None) -> list[DomainEvent]:
    """Open a draft for enrollment; it needs at least one objective to choose from."""
    program = _existing(state)
    if program.status is ProgramStatus.DRAFT and not program.objectives:
        raise DomainError("a program needs at least one objective before it opens", field="objectives")
    return _advance(program, ProgramStatus.DRAFT, ProgramOpened(program_id=program.program_id), "opened")


def decide_start_program(state: Program | None) -> list[DomainEvent]:
    """Start an open program: enrollment ends, sessions begin."""
    program = _existing(state)
    return _advance(program, ProgramStatus.OPEN, ProgramStarted(program_id=program.program_id), "started")


def decide_close_program(state: Program | None) -> list[DomainEvent]:
    """Close a running program."""
    program = _existing(state)
    return _advance(program, ProgramStatus.RUNNING, ProgramClosed(program_id=program.program_id), "closed")


def evolve_program(state: Program | None, event: DomainEvent) -> Program:
    """The program after `event`. Raises `TypeError` on an event that is not a program's."""
    if isinstance(event, ProgramCreated):
        return Program(
            program_id=event.program_id,
            status=ProgramStatus.DRAFT,
            objectives=event.objectives,
            eligibility=event.eligibility,
            languages=event.languages,
            capacity=event.capacity,
            auto_approve=event.auto_approve,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before ProgramCreated")
    match event:
        case ProgramObjectivesChanged():
            return replace(state, objectives=event.objectives)
        case ProgramEligibilityChanged():
            return replace(state, eligibility=event.eligibility)
        case ProgramOpened():
            return replace(state, status=ProgramStatus.OPEN)
        case ProgramStarted():
            return replace(state, status=ProgramStatus.RUNNING)
        case ProgramClosed():
            return replace(state, status=ProgramStatus.CLOSED)
    raise TypeError(f"not a program event: {type(event).__name__}")


def replay_program(events: Iterable[DomainEvent], state: Program | None = None) -> Program | None:
    """Fold `events` into `state` (from nothing by default): `None` if there were none."""
    return reduce(evolve_program, events, state)
