"""After enrolling: withdrawing at any time, updating the profile, erasing personal data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from pydantic import ValidationError
from tandem_enrollment.domain import (
    PERSONAL_FIELDS,
    EnrollParticipant,
    Participant,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantStatus,
    ParticipantWithdrew,
    Program,
    UpdateParticipantProfile,
    WithdrawalReason,
    WithdrawParticipant,
    decide_approve,
    decide_enroll,
    decide_erase,
    decide_update_profile,
    decide_withdraw,
    replay_participant,
)
from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent

Enroll = Callable[..., EnrollParticipant]
OpenProgram = Callable[..., Program]


@pytest.fixture
def program(open_program: OpenProgram) -> Program:
    return open_program(capacity=1)


@pytest.fixture
def applicant(request_to_enroll: Enroll, program: Program, now: datetime) -> Participant:
    participant = replay_participant(
        decide_enroll(None, request_to_enroll(), program=program, approved_count=0, now=now)
    )
    assert participant is not None
    return participant


def then(participant: Participant, events: list[DomainEvent]) -> Participant:
    after = replay_participant(events, participant)
    assert after is not None
    return after


# -- withdrawing -------------------------------------------------------------------------------


def test_a_participant_withdraws_from_any_status(applicant: Participant, program: Program) -> None:
    approved = then(applicant, decide_approve(applicant, program=program, approved_count=0))
    waitlisted = then(applicant, decide_approve(applicant, program=program, approved_count=1))

    for participant in (applicant, approved, waitlisted):
        [withdrew] = decide_withdraw(participant, WithdrawParticipant(reason=WithdrawalReason.LEFT_COMPANY))
        assert isinstance(withdrew, ParticipantWithdrew)
        assert withdrew.previous_status is participant.status
        assert withdrew.reason is WithdrawalReason.LEFT_COMPANY
        assert then(participant, [withdrew]).status is ParticipantStatus.WITHDRAWN


def test_withdrawing_twice_is_an_invalid_transition(applicant: Participant) -> None:
    withdrawn = then(applicant, decide_withdraw(applicant, WithdrawParticipant()))
    with pytest.raises(InvalidTransition):
        decide_withdraw(withdrawn, WithdrawParticipant())


def test_only_erasure_withdraws_for_erasure() -> None:
    with pytest.raises(ValidationError):
        WithdrawParticipant(reason=WithdrawalReason.ERASURE)


def test_an_unknown_enrollment_is_not_found() -> None:
    with pytest.raises(NotFound):
        decide_withdraw(None, WithdrawParticipant())
    with pytest.raises(NotFound):
        decide_erase(None)


# -- updating the profile ----------------------------------------------------------------------


def test_a_profile_update_carries_only_what_changed(applicant: Participant, program: Program) -> None:
    command = UpdateParticipantProfile.model_validate(
        {"site": "Paris", "department": "Finance", "job_level": 3, "manager_employee_id": None}
    )

    [updated] = decide_update_profile(applicant, command, program=program)

    assert isinstance(updated, ParticipantProfileUpdated)
    assert updated.changed_fields == ("site", "job_level", "manager_employee_id")
    assert (updated.site, updated.job_level, updated.department) == ("Paris", 3, None)
    assert (updated.participant_id, updated.employee_id, updated.role) == (
        applicant.participant_id,
        applicant.employee_id,
        applicant.role,
    )
    profile = then(applicant, [updated]).profile
    assert (profile.site, profile.job_level, profile.manager_employee_id) == ("Paris", 3, None)
    assert profile.department == "Finance" and profile.display_name == "Ada Martin"


def test_an_update_that_changes_nothing_records_nothing(applicant: Participant, program: Program) -> None:
    same = UpdateParticipantProfile(site="Lyon", languages=("fr", "en"))
    assert decide_update_profile(applicant, same, program=program) == []


def test_personal_fields_change_like_the_others_and_stay_marked_personal(
    applicant: Participant, program: Program
) -> None:
    [updated] = decide_update_profile(applicant, UpdateParticipantProfile(display_name="Ada M."), program=program)
    assert updated.data_subject() == f"employee-{applicant.employee_id}"


def test_required_fields_may_be_left_out_but_not_cleared() -> None:
    with pytest.raises(ValidationError) as refused:
        UpdateParticipantProfile.model_validate({"time_zone": None})
    assert refused.value.errors()[0]["loc"] == ("time_zone",)


def test_updated_languages_and_objectives_must_still_fit_the_program(applicant: Participant, program: Program) -> None:
    for command, field in (
        (UpdateParticipantProfile(languages=("de",)), "languages"),
        (UpdateParticipantProfile(objectives=("astrology",)), "objectives"),
    ):
        with pytest.raises(DomainError) as refused:
            decide_update_profile(applicant, command, program=program)
        assert refused.value.field == field


def test_a_withdrawn_participant_can_no_longer_update(applicant: Participant, program: Program) -> None:
    withdrawn = then(applicant, decide_withdraw(applicant, WithdrawParticipant()))
    with pytest.raises(InvalidTransition):
        decide_update_profile(withdrawn, UpdateParticipantProfile(site="Paris"), program=program)


# -- erasure -----------------------------------------------------------------------------------


def test_erasure_withdraws_then_blanks_personal_data(applicant: Participant, program: Program) -> None:
    approved = then(applicant, decide_approve(applicant, program=program, approved_count=0))

    withdrew, erased = decide_erase(approved)

    assert isinstance(withdrew, ParticipantWithdrew)
    assert (withdrew.reason, withdrew.previous_status) == (WithdrawalReason.ERASURE, ParticipantStatus.APPROVED)
    assert isinstance(erased, ParticipantErased)
    after = then(approved, [withdrew, erased])
    assert after.erased and after.status is ParticipantStatus.WITHDRAWN
    assert all(getattr(after.profile, name) is None for name in PERSONAL_FIELDS)
    assert after.profile.site == "Lyon"


def test_the_erasure_event_carries_no_personal_data(applicant: Participant) -> None:
    erased = decide_erase(applicant)[-1]
    assert PERSONAL_FIELDS.isdisjoint(type(erased).model_fields)
    assert erased.data_subject() is None


def test_erasing_a_withdrawn_participant_only_erases(applicant: Participant) -> None:
    withdrawn = then(applicant, decide_withdraw(applicant, WithdrawParticipant()))
    assert [type(event) for event in decide_erase(withdrawn)] == [ParticipantErased]


def test_erasure_is_idempotent(applicant: Participant) -> None:
    erased = then(applicant, decide_erase(applicant))
    assert decide_erase(erased) == []
