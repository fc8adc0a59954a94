"""Pairing's tolerant readers of enrollment events: what they keep, and what they let pass."""

from __future__ import annotations

from typing import Any

from tandem_kernel.privacy import SEALED
from tandem_pairing.consumed import ParticipantEnrolled, ParticipantProfileUpdated, enrollment_registry
from tandem_pairing.domain import MeetingPreference, Role

ENROLLED: dict[str, Any] = {
    "participant_id": "00000000-0000-4000-8000-000000000001",
    "program_id": "00000000-0000-4000-8000-000000000002",
    "employee_id": "E1",
    "role": "senior",
    "display_name": {SEALED: "b3BhcXVl"},
    "email": None,
    "department": "Finance",
    "site": "Lyon",
    "country": "FR",
    "time_zone": "Europe/Paris",
    "job_level": 7,
    "years_in_company": 21.5,
    "languages": ["fr", "en"],
    "skills_offered": [{"skill": "negotiation", "level": 5}],
    "availability": [{"weekday": 0, "start": "09:00:00", "end": "00:00:00"}],
    "enrolled_at": "2026-03-02T09:00:00Z",
    "a_field_enrollment_adds_next_year": {"anything": True},
}


def test_an_enrollment_reads_with_only_what_pairing_matches_on() -> None:
    event = enrollment_registry().decode("enrollment.ParticipantEnrolled", 1, ENROLLED)

    assert isinstance(event, ParticipantEnrolled)
    assert event.role is Role.SENIOR and event.meeting_preference is MeetingPreference.EITHER
    assert event.skills_offered[0].level == 5 and event.skills_wanted == ()
    assert "display_name" not in event.model_dump() and "job_level" not in event.model_dump()


def test_a_profile_update_keeps_the_fields_it_names() -> None:
    data = {**{k: ENROLLED[k] for k in ("participant_id", "program_id", "employee_id", "role")}}
    data |= {"changed_fields": ["site", "email"], "site": "Paris", "email": {SEALED: "eA=="}}

    event = enrollment_registry().decode("enrollment.ParticipantProfileUpdated", 1, data)

    assert isinstance(event, ParticipantProfileUpdated)
    assert event.changed_fields == ("site", "email") and event.site == "Paris" and event.languages is None
