"""Programs: draft → open → running → closed; objectives and rules change only while draft or open."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest
from pydantic import ValidationError
from tandem_enrollment.domain import (
    ChangeEligibilityRules,
    ChangeProgramObjectives,
    CreateProgram,
    EligibilityRules,
    Objective,
    Program,
    ProgramCreated,
    ProgramEligibilityChanged,
    ProgramObjectivesChanged,
    ProgramOpened,
    ProgramStatus,
    SeniorEligibility,
    decide_change_eligibility,
    decide_change_objectives,
    decide_close_program,
    decide_create_program,
    decide_open_program,
    decide_start_program,
    evolve_program,
    replay_program,
)
from tandem_kernel.errors import DomainError, InvalidTransition, NotFound

NEW_CATALOGUE = ChangeProgramObjectives(objectives=(Objective(code="okr", title="Set OKRs", theme="new_work_methods"),))
STRICTER_RULES = ChangeEligibilityRules(eligibility=EligibilityRules(senior=SeniorEligibility(min_job_level=8)))


def at(status: ProgramStatus, terms: Callable[..., CreateProgram]) -> Program:
    program = replay_program(decide_create_program(None, terms(), program_id=uuid4()))
    for decide in (decide_open_program, decide_start_program, decide_close_program):
        assert program is not None
        if program.status is status:
            break
        program = replay_program(decide(program), program)
    assert program is not None and program.status is status
    return program


def test_a_program_is_created_as_a_draft_carrying_all_its_terms(terms: Callable[..., CreateProgram]) -> None:
    program_id = uuid4()
    [created] = decide_create_program(None, terms(capacity=30, auto_approve=True), program_id=program_id)

    assert isinstance(created, ProgramCreated)
    assert created.program_id == program_id
    assert created.capacity == 30 and created.auto_approve and created.proposal_expiry_days == 7
    assert [objective.code for objective in created.objectives] == ["ai", "tools", "visibility"]
    program = replay_program([created])
    assert program is not None
    assert program.status is ProgramStatus.DRAFT
    assert program.objective_codes == {"ai", "tools", "visibility"}


def test_a_program_is_created_once(terms: Callable[..., CreateProgram]) -> None:
    program = at(ProgramStatus.DRAFT, terms)
    with pytest.raises(InvalidTransition):
        decide_create_program(program, terms(), program_id=program.program_id)


def test_the_lifecycle_runs_forward_one_step_at_a_time(terms: Callable[..., CreateProgram]) -> None:
    program = at(ProgramStatus.DRAFT, terms)
    for decide, status in (
        (decide_open_program, ProgramStatus.OPEN),
        (decide_start_program, ProgramStatus.RUNNING),
        (decide_close_program, ProgramStatus.CLOSED),
    ):
        [event] = decide(program)
        program = evolve_program(program, event)
        assert program.status is status


@pytest.mark.parametrize(
    ("status", "decide"),
    [
        (ProgramStatus.DRAFT, decide_start_program),
        (ProgramStatus.DRAFT, decide_close_program),
        (ProgramStatus.OPEN, decide_open_program),
        (ProgramStatus.OPEN, decide_close_program),
        (ProgramStatus.RUNNING, decide_open_program),
        (ProgramStatus.RUNNING, decide_start_program),
        (ProgramStatus.CLOSED, decide_open_program),
        (ProgramStatus.CLOSED, decide_close_program),
    ],
)
def test_skipping_or_repeating_a_step_is_an_invalid_transition(
    status: ProgramStatus, decide: Callable[[Program], object], terms: Callable[..., CreateProgram]
) -> None:
    with pytest.raises(InvalidTransition):
        decide(at(status, terms))


def test_a_program_without_objectives_cannot_open(terms: Callable[..., CreateProgram]) -> None:
    program = replay_program(decide_create_program(None, terms(objectives=[]), program_id=uuid4()))
    with pytest.raises(DomainError) as refused:
        decide_open_program(program)
    assert refused.value.field == "objectives"


def test_deciding_on_a_program_that_does_not_exist_is_not_found() -> None:
    with pytest.raises(NotFound):
        decide_open_program(None)
    with pytest.raises(NotFound):
        decide_change_objectives(None, NEW_CATALOGUE)


@pytest.mark.parametrize("status", [ProgramStatus.DRAFT, ProgramStatus.OPEN])
def test_objectives_and_rules_change_while_draft_or_open(
    status: ProgramStatus, terms: Callable[..., CreateProgram]
) -> None:
    program = at(status, terms)

    [objectives_changed] = decide_change_objectives(program, NEW_CATALOGUE)
    [rules_changed] = decide_change_eligibility(program, STRICTER_RULES)

    assert isinstance(objectives_changed, ProgramObjectivesChanged)
    assert isinstance(rules_changed, ProgramEligibilityChanged)
    changed = replay_program([objectives_changed, rules_changed], program)
    assert changed is not None
    assert changed.objective_codes == {"okr"}
    assert changed.eligibility.senior.min_job_level == 8
    assert changed.status is status


@pytest.mark.parametrize("status", [ProgramStatus.RUNNING, ProgramStatus.CLOSED])
def test_objectives_and_rules_are_fixed_once_the_program_runs(
    status: ProgramStatus, terms: Callable[..., CreateProgram]
) -> None:
    program = at(status, terms)
    with pytest.raises(InvalidTransition):
        decide_change_objectives(program, NEW_CATALOGUE)
    with pytest.raises(InvalidTransition):
        decide_change_eligibility(program, STRICTER_RULES)


def test_an_unchanged_catalogue_or_rule_set_records_nothing(terms: Callable[..., CreateProgram]) -> None:
    program = at(ProgramStatus.OPEN, terms)
    assert decide_change_objectives(program, ChangeProgramObjectives(objectives=program.objectives)) == []
    assert decide_change_eligibility(program, ChangeEligibilityRules(eligibility=program.eligibility)) == []


def test_opening_is_recorded_with_the_program_id(terms: Callable[..., CreateProgram]) -> None:
    program = at(ProgramStatus.DRAFT, terms)
    assert decide_open_program(program) == [ProgramOpened(program_id=program.program_id)]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end_date": "2026-02-01"}, "end_date"),
        ({"session_minutes": 20}, "session_minutes"),
        ({"session_minutes": 90}, "session_minutes"),
        ({"languages": []}, "languages"),
        ({"capacity": 0}, "capacity"),
        (
            {"objectives": [{"code": "ai", "title": "A", "theme": "ai"}, {"code": "AI", "title": "B", "theme": "ai"}]},
            "objectives",
        ),
        ({"eligibility": {"junior": {"min_job_level": 5, "max_job_level": 2}}}, "eligibility.junior"),
    ],
)
def test_malformed_terms_are_refused_on_the_offending_field(
    overrides: dict[str, object], field: str, terms: Callable[..., CreateProgram]
) -> None:
    with pytest.raises(ValidationError) as refused:
        terms(**overrides)
    assert field in {".".join(str(part) for part in error["loc"]) for error in refused.value.errors()}


def test_a_program_may_use_its_own_themes(terms: Callable[..., CreateProgram]) -> None:
    created = terms(objectives=[{"code": "green-it", "title": "Frugal IT", "theme": "Sustainability"}])
    assert created.objectives[0].theme == "sustainability"
