"""Enrolling: consent, eligibility, fit with the program, one enrollment per employee and program."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

import pytest
from pydantic import ValidationError
from tandem_enrollment.domain import (
    EnrollParticipant,
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantStatus,
    Program,
    Role,
    decide_enroll,
    decide_start_program,
    enrollment_id,
    replay_participant,
    replay_program,
)
from tandem_kernel.errors import DomainError, InvalidTransition
from tandem_kernel.events import DomainEvent

Enroll = Callable[..., EnrollParticipant]
OpenProgram = Callable[..., Program]


def refusal(command: EnrollParticipant, program: Program, now: datetime) -> DomainError:
    with pytest.raises(DomainError) as refused:
        decide_enroll(None, command, program=program, approved_count=0, now=now)
    return refused.value


def status_after(events: list[DomainEvent]) -> ParticipantStatus:
    participant = replay_participant(events)
    assert participant is not None
    return participant.status


def test_enrolling_records_the_whole_profile_so_subscribers_never_call_back(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program()
    [enrolled] = decide_enroll(None, request_to_enroll(), program=program, approved_count=0, now=now)

    assert isinstance(enrolled, ParticipantEnrolled)
    assert enrolled.participant_id == enrollment_id(program.program_id, "E1001")
    assert (enrolled.program_id, enrolled.employee_id, enrolled.role) == (program.program_id, "E1001", Role.JUNIOR)
    assert (enrolled.display_name, enrolled.email) == ("Ada Martin", "ada.martin@example.com")
    assert enrolled.personal_goals == "Help my manager trust AI tools"
    assert (enrolled.department, enrolled.site, enrolled.country) == ("Finance", "Lyon", "FR")
    assert (enrolled.time_zone, enrolled.job_level, enrolled.years_in_company) == ("Europe/Paris", 2, 1.5)
    assert enrolled.manager_employee_id == "E0042"
    assert enrolled.languages == ("fr", "en")
    assert {rating.skill: rating.level for rating in enrolled.skills_offered} == {"generative_ai": 4, "excel": 3}
    assert enrolled.objectives == ("ai", "tools")
    assert [(window.weekday, window.start) for window in enrolled.availability] == [(0, time(9)), (2, time(14))]
    assert enrolled.meeting_preference == "remote"
    assert enrolled.enrolled_at == now
    assert enrolled.data_subject() == "employee-E1001"  # the person, across programs


def test_an_applicant_waits_for_a_manager_unless_the_program_auto_approves(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    manual = decide_enroll(None, request_to_enroll(), program=open_program(), approved_count=0, now=now)
    automatic = decide_enroll(
        None, request_to_enroll(), program=open_program(auto_approve=True), approved_count=0, now=now
    )

    assert status_after(manual) is ParticipantStatus.APPLIED
    assert isinstance(automatic[1], ParticipantApproved) and automatic[1].automatic
    assert status_after(automatic) is ParticipantStatus.APPROVED


def test_an_employee_enrolls_once_per_program(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    program = open_program()
    participant = replay_participant(
        decide_enroll(None, request_to_enroll(), program=program, approved_count=0, now=now)
    )
    with pytest.raises(InvalidTransition):
        decide_enroll(participant, request_to_enroll(), program=program, approved_count=0, now=now)


def test_the_enrollment_id_is_the_same_for_the_same_program_and_employee(open_program: OpenProgram) -> None:
    program_id = open_program().program_id
    assert enrollment_id(program_id, "E1001") == enrollment_id(program_id, "E1001")
    assert enrollment_id(program_id, "E1001") != enrollment_id(program_id, "E1002")


def test_enrolling_needs_explicit_consent(request_to_enroll: Enroll, open_program: OpenProgram, now: datetime) -> None:
    assert refusal(request_to_enroll(consent=False), open_program(), now).field == "consent"


def test_enrollment_is_only_for_open_programs(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    running = replay_program(decide_start_program(open_program()), open_program())
    assert running is not None
    assert isinstance(refusal(request_to_enroll(), running, now), InvalidTransition)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"years_in_company": 6}, "years_in_company"),
        ({"job_level": 5}, "job_level"),
        ({"role": "senior", "job_level": 4}, "job_level"),
    ],
)
def test_eligibility_follows_the_programs_rules_for_each_role(
    overrides: dict[str, object], field: str, request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    assert refusal(request_to_enroll(**overrides), open_program(), now).field == field


def test_seniors_are_not_limited_by_the_junior_rules(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    senior = request_to_enroll(role="senior", job_level=7, years_in_company=25)
    assert decide_enroll(None, senior, program=open_program(), approved_count=0, now=now)


def test_a_participant_speaks_at_least_one_program_language(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    assert refusal(request_to_enroll(languages=["de", "it"]), open_program(), now).field == "languages"


def test_chosen_objectives_come_from_the_programs_catalogue(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    refused = refusal(request_to_enroll(objectives=["ai", "astrology"]), open_program(), now)
    assert refused.field == "objectives" and "astrology" in refused.detail


def test_a_request_for_another_program_is_refused(
    request_to_enroll: Enroll, open_program: OpenProgram, now: datetime
) -> None:
    other = request_to_enroll(program_id="00000000-0000-4000-8000-0000000000ff")
    assert refusal(other, open_program(), now).field == "program_id"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": "Europe"}, "time_zone"),
        ({"languages": []}, "languages"),
        ({"languages": ["english"]}, "languages.0"),
        ({"skills_offered": [{"skill": "juggling", "level": 3}]}, "skills_offered"),
        ({"skills_wanted": [{"skill": "excel", "level": 6}]}, "skills_wanted.0.level"),
        ({"skills_offered": [{"skill": "excel", "level": 2}, {"skill": "excel", "level": 4}]}, "skills_offered"),
        ({"availability": [{"weekday": 0, "start": "11:00", "end": "10:00"}]}, "availability.0.end"),
        ({"availability": [{"weekday": 7, "start": "09:00", "end": "10:00"}]}, "availability.0.weekday"),
        (
            {
                "availability": [
                    {"weekday": "tue", "start": "09:00", "end": "11:00"},
                    {"weekday": "Tuesday", "start": "10:30", "end": "12:00"},
                ]
            },
            "availability",
        ),
        ({"email": "not-an-address"}, "email"),
        ({"display_name": "  "}, "display_name"),
        ({"job_level": -1}, "job_level"),
        ({"meeting_preference": "carrier_pigeon"}, "meeting_preference"),
        ({"role": "mentor"}, "role"),
        ({"consent": None}, "consent"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_malformed_requests_are_refused_on_the_offending_field(
    overrides: dict[str, object], field: str, request_to_enroll: Enroll
) -> None:
    with pytest.raises(ValidationError) as refused:
        request_to_enroll(**overrides)
    assert field in {".".join(str(part) for part in error["loc"]) for error in refused.value.errors()}


def test_requests_are_normalised(request_to_enroll: Enroll) -> None:
    command = request_to_enroll(
        languages=[" EN", "fr", "en"],
        objectives=["AI", "ai"],
        availability=[
            {"weekday": "wed", "start": "14:00", "end": "15:00"},
            {"weekday": "mon", "start": "22:00", "end": "24:00"},
            {"weekday": "mon", "start": "09:00", "end": "10:00"},
        ],
    )
    assert command.languages == ("en", "fr")
    assert command.objectives == ("ai",)
    assert [(window.weekday, window.start.hour) for window in command.availability] == [(0, 9), (0, 22), (2, 14)]
    assert command.availability[1].end_minute == 24 * 60


def test_touching_availability_windows_do_not_overlap(request_to_enroll: Enroll) -> None:
    command = request_to_enroll(
        availability=[
            {"weekday": 0, "start": "09:00", "end": "10:00"},
            {"weekday": 0, "start": "10:00", "end": "11:00"},
        ]
    )
    assert len(command.availability) == 2
