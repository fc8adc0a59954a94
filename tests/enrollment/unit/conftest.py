"""Builders for the enrollment specification: a typical program and a typical enrollment request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from tandem_enrollment.domain import (
    CreateProgram,
    EnrollParticipant,
    Program,
    decide_create_program,
    decide_open_program,
    replay_program,
)

PROGRAM_ID = UUID("00000000-0000-4000-8000-000000000001")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

TERMS: dict[str, Any] = {
    "name": "Digital tandems 2026",
    "description": "Juniors coach seniors on AI and new tools; seniors share the ropes.",
    "objectives": [
        {"code": "ai", "title": "Use AI assistants day to day", "theme": "ai"},
        {"code": "tools", "title": "Get fluent with collaboration tools", "theme": "digital_tools"},
        {"code": "visibility", "title": "Build a LinkedIn presence", "theme": "professional_social_networks"},
    ],
    "start_date": date(2026, 3, 1),
    "end_date": date(2026, 12, 15),
    "session_cadence_days": 14,
    "session_minutes": 45,
    "rotation_months": 3,
    "languages": ["en", "fr"],
    "eligibility": {
        "junior": {"max_years_in_company": 5, "max_job_level": 4},
        "senior": {"min_job_level": 5},
    },
}

REQUEST: dict[str, Any] = {
    "program_id": PROGRAM_ID,
    "employee_id": "E1001",
    "role": "junior",
    "consent": True,
    "display_name": "Ada Martin",
    "email": "ada.martin@example.com",
    "personal_goals": "Help my manager trust AI tools",
    "department": "Finance",
    "site": "Lyon",
    "country": "fr",
    "time_zone": "Europe/Paris",
    "job_level": 2,
    "years_in_company": 1.5,
    "manager_employee_id": "E0042",
    "languages": ["fr", "en"],
    "skills_offered": [{"skill": "generative_ai", "level": 4}, {"skill": "excel", "level": 3}],
    "skills_wanted": [{"skill": "negotiation", "level": 2}],
    "objectives": ["ai", "tools"],
    "availability": [
        {"weekday": "mon", "start": "09:00", "end": "11:00"},
        {"weekday": 2, "start": "14:00", "end": "15:30"},
    ],
    "meeting_preference": "remote",
}


@pytest.fixture
def terms() -> Callable[..., CreateProgram]:
    """`terms(capacity=2)`: the typical program's terms with some overridden."""
    return lambda **overrides: CreateProgram.model_validate({**TERMS, **overrides})


@pytest.fixture
def open_program(terms: Callable[..., CreateProgram]) -> Callable[..., Program]:
    """`open_program(auto_approve=True)`: the typical program, created and opened."""

    def build(**overrides: Any) -> Program:
        program = replay_program(decide_create_program(None, terms(**overrides), program_id=PROGRAM_ID))
        program = replay_program(decide_open_program(program), program)
        assert program is not None
        return program

    return build


@pytest.fixture
def request_to_enroll() -> Callable[..., EnrollParticipant]:
    """`request_to_enroll(role="senior", job_level=7)`: the typical enrollment with some overrides."""
    return lambda **overrides: EnrollParticipant.model_validate({**REQUEST, **overrides})


@pytest.fixture
def now() -> datetime:
    """A fixed moment: decide functions take time as an argument, never read the clock."""
    return NOW
