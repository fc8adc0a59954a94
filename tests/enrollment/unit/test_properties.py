"""Properties that hold for any sequence of commands, accepted or refused."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tandem_enrollment.domain import (
    ChangeEligibilityRules,
    ChangeProgramObjectives,
    CreateProgram,
    EnrollParticipant,
    Participant,
    ParticipantStatus,
    Program,
    ProgramEligibilityChanged,
    ProgramObjectivesChanged,
    ProgramStatus,
    UpdateParticipantProfile,
    WaitingParticipant,
    WithdrawParticipant,
    admissions,
    decide_approve,
    decide_change_eligibility,
    decide_change_objectives,
    decide_close_program,
    decide_create_program,
    decide_enroll,
    decide_erase,
    decide_open_program,
    decide_start_program,
    decide_update_profile,
    decide_withdraw,
    enrollment_id,
    evolve_participant,
    evolve_program,
    parse_csv,
    parse_jsonl,
)
from tandem_kernel.errors import DomainError
from tandem_kernel.events import DomainEvent

APPLIED, APPROVED, WAITLISTED, WITHDRAWN = (
    ParticipantStatus.APPLIED,
    ParticipantStatus.APPROVED,
    ParticipantStatus.WAITLISTED,
    ParticipantStatus.WITHDRAWN,
)
POSSIBLE_STEPS = {
    (None, APPLIED),
    (APPLIED, APPROVED),
    (APPLIED, WAITLISTED),
    (WAITLISTED, APPROVED),
    (APPLIED, WITHDRAWN),
    (APPROVED, WITHDRAWN),
    (WAITLISTED, WITHDRAWN),
    *((status, status) for status in ParticipantStatus),
}
EMPLOYEES = ("E1", "E2", "E3", "E4")
ACTIONS = st.sampled_from(("enroll", "approve", "withdraw", "update", "erase", "admit"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    capacity=st.sampled_from((None, 1, 2)),
    auto_approve=st.booleans(),
    script=st.lists(st.tuples(ACTIONS, st.sampled_from(EMPLOYEES)), max_size=25),
)
def test_any_sequence_of_enrollment_commands_keeps_every_enrollment_possible(
    capacity: int | None,
    auto_approve: bool,
    script: list[tuple[str, str]],
    open_program: Callable[..., Program],
    request_to_enroll: Callable[..., EnrollParticipant],
    now: datetime,
) -> None:
    program = open_program(capacity=capacity, auto_approve=auto_approve)
    enrollments: dict[str, Participant] = {}

    def approved_count() -> int:
        return sum(participant.status is APPROVED for participant in enrollments.values())

    def decide(action: str, employee: str) -> list[DomainEvent]:
        state = enrollments.get(employee)
        if action == "enroll":
            command = request_to_enroll(employee_id=employee)
            return decide_enroll(state, command, program=program, approved_count=approved_count(), now=now)
        if action == "approve":
            return decide_approve(state, program=program, approved_count=approved_count())
        if action == "withdraw":
            return decide_withdraw(state, WithdrawParticipant())
        if action == "update":
            return decide_update_profile(state, UpdateParticipantProfile(site=f"Site {employee}"), program=program)
        return decide_erase(state)

    def admit() -> list[tuple[str, list[DomainEvent]]]:
        waitlist = [
            WaitingParticipant(participant.participant_id, participant.enrolled_at, participant.vetted)
            for participant in enrollments.values()
            if participant.status is WAITLISTED
        ]
        by_id = {participant.participant_id: employee for employee, participant in enrollments.items()}
        chosen = admissions(waitlist, capacity=capacity, approved_count=approved_count())
        # Each admission takes a place, so the next one sees one place fewer.
        return [
            (
                by_id[participant_id],
                decide_approve(
                    enrollments[by_id[participant_id]],
                    program=program,
                    approved_count=approved_count() + position,
                    automatic=True,
                ),
            )
            for position, participant_id in enumerate(chosen)
        ]

    for step, (action, employee) in enumerate(script):
        now += timedelta(minutes=step)
        try:
            decided = admit() if action == "admit" else [(employee, decide(action, employee))]
        except DomainError:
            continue
        for who, events in decided:
            for event in events:
                before = enrollments.get(who)
                after = evolve_participant(before, event)
                assert (before and before.status, after.status) in POSSIBLE_STEPS
                # Nobody takes a place without HR's approval, or the program's own.
                assert (
                    after.status is not APPROVED
                    or (before and before.status) is APPROVED
                    or (auto_approve or action == "approve" or (before is not None and before.vetted))
                )
                assert after.participant_id == enrollment_id(program.program_id, who)
                assert not after.erased or (after.status is WITHDRAWN and after.profile.email is None)
                enrollments[who] = after
        assert capacity is None or approved_count() <= capacity


PROGRAM_ACTIONS = st.sampled_from(("open", "start", "close", "objectives", "rules"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(PROGRAM_ACTIONS, max_size=12))
def test_a_program_only_ever_moves_forward_and_changes_only_before_it_runs(
    script: list[str], terms: Callable[..., CreateProgram]
) -> None:
    created = terms()
    order = list(ProgramStatus)
    program = evolve_program(None, decide_create_program(None, created, program_id=uuid4())[0])
    decides: dict[str, Callable[[Program], list[DomainEvent]]] = {
        "open": decide_open_program,
        "start": decide_start_program,
        "close": decide_close_program,
        "objectives": lambda state: decide_change_objectives(state, _fewer_objectives(state)),
        "rules": lambda state: decide_change_eligibility(state, _other_rules(state)),
    }
    for action in script:
        try:
            events = decides[action](program)
        except DomainError:
            continue
        for event in events:
            if isinstance(event, ProgramObjectivesChanged | ProgramEligibilityChanged):
                assert program.status in (ProgramStatus.DRAFT, ProgramStatus.OPEN)
            after = evolve_program(program, event)
            assert order.index(after.status) - order.index(program.status) in (0, 1)
            program = after


def _fewer_objectives(program: Program) -> ChangeProgramObjectives:
    return ChangeProgramObjectives(objectives=program.objectives[:-1] or program.objectives)


def _other_rules(program: Program) -> ChangeEligibilityRules:
    level = (program.eligibility.senior.min_job_level or 0) + 1
    return ChangeEligibilityRules.model_validate({"eligibility": {"senior": {"min_job_level": level}}})


HEADER = (
    "employee_id,display_name,email,role,department,site,country,time_zone,job_level,years_in_company,languages,consent"
)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.text(max_size=60), max_size=15))
def test_import_never_fails_on_garbage_rows_and_numbers_them_in_order(lines: list[str]) -> None:
    program_id = UUID(int=1)
    jsonl = list(parse_jsonl(lines, program_id=program_id))
    csv_rows = list(parse_csv(io.StringIO("\n".join([HEADER, *lines]), newline=""), program_id=program_id))

    assert len(jsonl) == sum(1 for line in lines if line.strip())
    for results in (jsonl, csv_rows):
        numbers = [result.row for result in results]
        assert numbers == sorted(set(numbers))
    assert all(result.row >= 2 for result in csv_rows)
