"""Events: registered once, stored as JSON and read back unchanged, personal data marked."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import get_args
from uuid import uuid4

import pytest
from tandem_enrollment.domain import (
    ENROLLMENT_EVENTS,
    PERSONAL_FIELDS,
    PROFILE_FIELDS,
    ChangeEligibilityRules,
    ChangeProgramObjectives,
    CreateProgram,
    EligibilityRules,
    EnrollParticipant,
    ParticipantEnrolled,
    ParticipantEvent,
    ParticipantProfileUpdated,
    Program,
    UpdateParticipantProfile,
    WithdrawParticipant,
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
    replay_participant,
    replay_program,
)
from tandem_kernel.errors import UnreadableEvent
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.privacy import PERSONAL


def one_of_each(
    terms: Callable[..., CreateProgram], open_program: Callable[..., Program], enroll: EnrollParticipant, now: datetime
) -> list[DomainEvent]:
    program_events = decide_create_program(None, terms(), program_id=enroll.program_id)
    program = replay_program(program_events)
    program_events += decide_change_objectives(program, ChangeProgramObjectives(objectives=terms().objectives[:1]))
    program_events += decide_change_eligibility(program, ChangeEligibilityRules(eligibility=EligibilityRules()))
    for decide in (decide_open_program, decide_start_program, decide_close_program):
        program_events += decide(program)
        program = replay_program(program_events)

    participant_events = decide_enroll(
        None, enroll, program=open_program(capacity=1, auto_approve=True), approved_count=0, now=now
    )
    participant_events += decide_update_profile(
        replay_participant(participant_events), UpdateParticipantProfile(site="Paris"), program=open_program()
    )
    participant = replay_participant(participant_events)
    participant_events += decide_withdraw(participant, WithdrawParticipant())
    participant_events += decide_erase(replay_participant(participant_events))
    waitlisted = decide_enroll(
        None, enroll, program=open_program(capacity=1, auto_approve=True), approved_count=1, now=now
    )[1:]
    return program_events + participant_events + waitlisted


def test_every_event_survives_the_trip_through_json(
    terms: Callable[..., CreateProgram],
    open_program: Callable[..., Program],
    request_to_enroll: Callable[..., EnrollParticipant],
    now: datetime,
) -> None:
    registry = EventRegistry(ENROLLMENT_EVENTS)
    events = one_of_each(terms, open_program, request_to_enroll(), now)

    assert {type(event) for event in events} == set(ENROLLMENT_EVENTS)
    for event in events:
        assert registry.decode(event.event_type, event.event_version, registry.encode(event)) == event


def test_read_back_trusted_every_event_decodes_as_validated_in_full(
    terms: Callable[..., CreateProgram],
    open_program: Callable[..., Program],
    request_to_enroll: Callable[..., EnrollParticipant],
    now: datetime,
) -> None:
    # Written the way people type it: the checks skipped on a trusted read put it in order first.
    messy = request_to_enroll(
        languages=["FR", "en", "fr"],
        availability=[
            {"weekday": "fri", "start": "16:00", "end": "24:00"},
            {"weekday": "Monday", "start": "09:00", "end": "11:00"},
        ],
    )
    registry = EventRegistry(ENROLLMENT_EVENTS)
    for event in one_of_each(terms, open_program, messy, now):
        stored = registry.encode(event)
        full = registry.decode(event.event_type, event.event_version, stored)
        assert registry.decode(event.event_type, event.event_version, stored, trusted=True) == full == event
        assert registry.decode_stored(event.event_type, event.event_version, json.dumps(stored)) == full


def test_wire_input_is_still_checked_in_full(
    open_program: Callable[..., Program], request_to_enroll: Callable[..., EnrollParticipant], now: datetime
) -> None:
    [enrolled] = decide_enroll(None, request_to_enroll(), program=open_program(), approved_count=0, now=now)
    registry = EventRegistry(ENROLLMENT_EVENTS)
    overlapping = {
        **registry.encode(enrolled),
        "availability": [
            {"weekday": 0, "start": "09:00:00", "end": "11:00:00"},
            {"weekday": 0, "start": "10:00:00", "end": "12:00:00"},
        ],
    }
    document = {
        "event_id": str(uuid4()),
        "event_type": enrolled.event_type,
        "event_version": enrolled.event_version,
        "stream_id": "participant-1",
        "stream_version": 1,
        "position": 1,
        "occurred_at": now.isoformat(),
        "payload": overlapping,
    }
    with pytest.raises(UnreadableEvent, match="availability windows overlap"):
        registry.envelope_from_json(json.dumps(document))
    with pytest.raises(UnreadableEvent, match="availability windows overlap"):
        registry.decode(enrolled.event_type, enrolled.event_version, overlapping)


def test_event_types_are_named_after_the_service() -> None:
    assert all(event.event_type == f"enrollment.{event.__name__}" for event in ENROLLMENT_EVENTS)


def test_exactly_the_personal_fields_are_marked_personal() -> None:
    assert {"display_name", "email", "personal_goals"} == PERSONAL_FIELDS
    for event in ENROLLMENT_EVENTS:
        marked = {
            name
            for name, field in event.model_fields.items()
            if any(PERSONAL in get_args(arg) for arg in get_args(field.annotation))
        }
        carries_personal_data = event in (ParticipantEnrolled, ParticipantProfileUpdated)
        assert marked == (PERSONAL_FIELDS if carries_personal_data else set()), event.__name__


def test_a_profile_update_covers_every_profile_field_and_nothing_else() -> None:
    assert set(UpdateParticipantProfile.model_fields) == set(PROFILE_FIELDS)
    assert set(ParticipantProfileUpdated.model_fields) - set(ParticipantEvent.model_fields) == {
        *PROFILE_FIELDS,
        "changed_fields",
    }
