"""Capacity: approvals up to it, then a waitlist served first come, first served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from tandem_enrollment.domain import (
    EnrollParticipant,
    Participant,
    ParticipantApproved,
    ParticipantStatus,
    ParticipantVetted,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    Program,
    WaitingParticipant,
    WithdrawalReason,
    WithdrawParticipant,
    admissions,
    decide_approve,
    decide_close_program,
    decide_enroll,
    decide_start_program,
    decide_withdraw,
    free_places,
    has_free_place,
    replay_participant,
    replay_program,
)
from tandem_kernel.errors import InvalidTransition

Enroll = Callable[..., EnrollParticipant]
OpenProgram = Callable[..., Program]


def enrolled(command: EnrollParticipant, program: Program, approved_count: int, now: datetime) -> Participant:
    participant = replay_participant(
        decide_enroll(None, command, program=program, approved_count=approved_count, now=now)
    )
    assert participant is not None
    return participant


def test_a_full_program_waitlists_newcomers_even_when_it_auto_approves(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(capacity=2, auto_approve=True)

    events = decide_enroll(None, request_to_enroll(), program=program, approved_count=2, now=now)

    assert isinstance(events[1], ParticipantWaitlisted)
    assert events[1].enrolled_at == now
    participant = replay_participant(events)
    assert participant is not None and participant.status is ParticipantStatus.WAITLISTED


def test_a_program_without_capacity_is_never_full(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(auto_approve=True)
    participant = enrolled(request_to_enroll(), program, 10_000, now)
    assert participant.status is ParticipantStatus.APPROVED


def test_a_manager_approves_an_applicant_while_there_is_room(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(capacity=2)
    applicant = enrolled(request_to_enroll(), program, 1, now)

    [approved] = decide_approve(applicant, program=program, approved_count=1)

    assert isinstance(approved, ParticipantApproved) and not approved.automatic
    assert (approved.participant_id, approved.role) == (applicant.participant_id, applicant.role)


def test_an_applicant_approved_into_a_full_program_is_waitlisted_instead(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(capacity=2)
    applicant = enrolled(request_to_enroll(), program, 1, now)

    waitlisted, vetted = decide_approve(applicant, program=program, approved_count=2)

    assert isinstance(waitlisted, ParticipantWaitlisted) and isinstance(vetted, ParticipantVetted)
    assert waitlisted.enrolled_at == applicant.enrolled_at
    assert replay_participant([waitlisted, vetted], applicant) == replace(
        applicant, status=ParticipantStatus.WAITLISTED, vetted=True
    )


def test_a_vetted_waiting_participant_is_approved_once_a_place_frees_up(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(capacity=2)
    waiting = enrolled(request_to_enroll(), program, 2, now)
    [vetted] = decide_approve(waiting, program=program, approved_count=2)
    waiting = replay_participant([vetted], waiting)

    with pytest.raises(InvalidTransition):
        decide_approve(waiting, program=program, approved_count=2)
    [approved] = decide_approve(waiting, program=program, approved_count=1, automatic=True)

    assert isinstance(vetted, ParticipantVetted)
    assert isinstance(approved, ParticipantApproved) and approved.automatic


def test_waiting_for_a_place_is_not_being_approved(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(capacity=2)
    waiting = enrolled(request_to_enroll(), program, 2, now)

    assert (waiting.status, waiting.vetted) == (ParticipantStatus.WAITLISTED, False)
    with pytest.raises(InvalidTransition, match="HR's approval"):
        decide_approve(waiting, program=program, approved_count=1, automatic=True)
    # HR may approve them when a place is free: approved outright.
    [approved] = decide_approve(waiting, program=program, approved_count=1)
    assert isinstance(approved, ParticipantApproved) and not approved.automatic


def test_an_auto_approving_program_vets_everyone_it_waitlists(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(capacity=2, auto_approve=True)
    waiting = enrolled(request_to_enroll(), program, 2, now)

    assert (waiting.status, waiting.vetted) == (ParticipantStatus.WAITLISTED, True)


def test_admissions_pass_over_people_nobody_approved() -> None:
    unvetted = WaitingParticipant(UUID(int=1), datetime(2026, 3, 2, 9), vetted=False)
    vetted = WaitingParticipant(UUID(int=2), datetime(2026, 3, 2, 10), vetted=True)

    assert admissions([unvetted, vetted], capacity=2, approved_count=1) == (vetted.participant_id,)


def test_approving_twice_or_after_withdrawal_is_an_invalid_transition(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(auto_approve=True)
    approved = enrolled(request_to_enroll(), program, 0, now)
    withdrawn = replay_participant(decide_withdraw(approved, WithdrawParticipant()), approved)

    for participant in (approved, withdrawn):
        with pytest.raises(InvalidTransition):
            decide_approve(participant, program=program, approved_count=0)


def test_nobody_is_approved_in_a_closed_program(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program()
    applicant = enrolled(request_to_enroll(), program, 0, now)
    running = replay_program(decide_start_program(program), program)
    assert running is not None
    closed = replay_program(decide_close_program(running), running)
    assert closed is not None

    assert decide_approve(applicant, program=running, approved_count=0)
    with pytest.raises(InvalidTransition):
        decide_approve(applicant, program=closed, approved_count=0)


def test_an_approved_withdrawal_says_a_place_is_free_again(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program(capacity=1, auto_approve=True)
    approved = enrolled(request_to_enroll(), program, 0, now)

    [withdrew] = decide_withdraw(approved, WithdrawParticipant(reason=WithdrawalReason.WORKLOAD))

    assert isinstance(withdrew, ParticipantWithdrew)
    assert withdrew.previous_status is ParticipantStatus.APPROVED


def waiting(number: int, minutes_after: int, now: datetime) -> WaitingParticipant:
    return WaitingParticipant(UUID(int=number), now + timedelta(minutes=minutes_after), vetted=True)


def test_the_waitlist_is_served_in_enrollment_order(now: datetime) -> None:
    waitlist = [waiting(1, 30, now), waiting(2, 10, now), waiting(3, 20, now), waiting(4, 40, now)]

    assert admissions(waitlist, capacity=10, approved_count=8) == (UUID(int=2), UUID(int=3))
    assert admissions(waitlist, capacity=10, approved_count=10) == ()
    assert admissions(waitlist, capacity=10, approved_count=12) == ()
    assert admissions(waitlist, capacity=None, approved_count=50) == tuple(UUID(int=n) for n in (2, 3, 1, 4))


def test_simultaneous_enrollments_are_ordered_the_same_way_by_everyone(now: datetime) -> None:
    waitlist = [waiting(9, 0, now), waiting(5, 0, now)]
    assert admissions(waitlist, capacity=1, approved_count=0) == (UUID(int=5),)
    assert admissions(reversed(waitlist), capacity=1, approved_count=0) == (UUID(int=5),)


def test_free_places_count_down_to_zero_and_never_below() -> None:
    assert [free_places(3, approved) for approved in range(5)] == [3, 2, 1, 0, 0]
    assert free_places(None, 99) is None
    assert has_free_place(None, 99) and has_free_place(3, 2) and not has_free_place(3, 3)
