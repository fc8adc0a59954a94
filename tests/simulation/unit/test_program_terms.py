"""The program the play creates: valid for enrollment, and with time enough to answer a proposal."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from tandem_enrollment.domain import SKILLS, ProgramTerms
from tandem_simulation.company import Skill, generate_company
from tandem_simulation.play import STEP, program_terms

VOCABULARY = [Skill(code=skill.code, area=skill.area.value) for skill in SKILLS.values()]
START = date(2026, 12, 14)


def terms(weeks: int = 24) -> ProgramTerms:
    company = generate_company(200, seed=5, vocabulary=VOCABULARY)
    return ProgramTerms.model_validate(program_terms(company, START, weeks=weeks, size=200, seed=5))


def test_a_proposal_pairing_makes_just_before_the_clock_moves_is_still_open_a_step_later() -> None:
    # Pairing's scheduler starts a rotation by itself when pairs fall due: its proposals may be made
    # a moment before the play moves every clock a week on, and are answered at the play's next step.
    # With proposals open only a week, that answer came too late: every side of every proposal of the
    # rotation round was refused (409, expired) — about 1,550 acceptances in a 2,000-person run.
    proposed_at = datetime.combine(START + timedelta(weeks=11), time(6))
    answered_at = proposed_at + STEP + timedelta(minutes=30)  # the next step, and the play's own pace

    expires_at = proposed_at + timedelta(days=terms().proposal_expiry_days)

    assert answered_at < expires_at


def test_the_rotation_falls_half_way_through_the_program() -> None:
    for weeks in (12, 24):
        program = terms(weeks)
        assert (program.end_date - program.start_date) == timedelta(weeks=weeks)
        assert round(weeks / 2 / 4.35) == program.rotation_months
