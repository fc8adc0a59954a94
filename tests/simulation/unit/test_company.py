"""The simulated company: the same seed gives the same company, realistic in the ways the play needs."""

from __future__ import annotations

from collections import Counter
from uuid import uuid4

import pytest
from tandem_enrollment.domain import SKILLS, EnrollParticipant
from tandem_simulation.company import JUNIOR_AREAS, SENIOR_AREAS, Skill, generate_company

VOCABULARY = [Skill(code=skill.code, area=skill.area.value) for skill in SKILLS.values()]


def test_the_same_seed_gives_the_same_company_and_another_seed_another() -> None:
    first = generate_company(300, seed=7, vocabulary=VOCABULARY)
    assert first == generate_company(300, seed=7, vocabulary=VOCABULARY)
    assert first != generate_company(300, seed=8, vocabulary=VOCABULARY)
    assert len(first.employees) == 300
    assert len({person.employee_id for person in first.employees}) == 300


def test_sites_span_countries_and_time_zones_far_apart() -> None:
    company = generate_company(2000, seed=1, vocabulary=VOCABULARY)
    zones = {person.site.time_zone for person in company.employees}
    assert {"Australia/Sydney", "America/Toronto", "Europe/Paris"} <= zones
    assert len({person.site.country for person in company.employees}) >= 8
    # Most share English; some speak only their site's language.
    english = sum("en" in person.languages for person in company.employees)
    assert 0.8 * 2000 < english < 2000


def test_every_manager_is_above_their_report_and_only_the_top_level_has_none() -> None:
    company = generate_company(1000, seed=3, vocabulary=VOCABULARY)
    people = company.by_id()
    highest = max(person.job_level for person in company.employees)
    top = [person for person in company.employees if person.manager_id is None]
    assert top and all(person.job_level == highest for person in top)
    for person in company.employees:
        if person.manager_id is not None:
            assert people[person.manager_id].job_level > person.job_level


def test_juniors_mostly_offer_digital_skills_and_seniors_want_them() -> None:
    company = generate_company(1000, seed=4, vocabulary=VOCABULARY)
    area = {skill.code: skill.area for skill in VOCABULARY}
    for person in company.employees:
        offered = {area[code] for code, _ in person.skills_offered}
        wanted = {area[code] for code, _ in person.skills_wanted}
        mine, theirs = (JUNIOR_AREAS, SENIOR_AREAS) if person.role == "junior" else (SENIOR_AREAS, JUNIOR_AREAS)
        assert offered <= set(mine) and wanted <= set(theirs)
    # Popularity is skewed: the most wanted skill is wanted far more than the median one.
    wanted = Counter(code for person in company.employees for code, _ in person.skills_wanted)
    counts = sorted(wanted.values(), reverse=True)
    assert counts[0] > 4 * counts[len(counts) // 2]


def test_behaviours_occur_at_plausible_rates() -> None:
    summary = generate_company(5000, seed=5, vocabulary=VOCABULARY).summary()
    for behaviour, (low, high) in {
        "withdraw": (0.01, 0.06),
        "decline": (0.03, 0.1),
        "cancel_repeatedly": (0.02, 0.07),
        "not_a_good_fit": (0.02, 0.07),
        "ask_erasure": (0.002, 0.03),
    }.items():
        assert low * 5000 < summary[behaviour] < high * 5000, behaviour
    assert 0.35 < summary["roles"]["junior"] / 5000 < 0.75


@pytest.mark.parametrize("seed", [11, 12])
def test_every_employee_is_a_valid_enrollment(seed: int) -> None:
    company = generate_company(400, seed=seed, vocabulary=VOCABULARY)
    for person in company.employees:
        body = person.enrollment()
        enrollment = EnrollParticipant.model_validate({**body, "program_id": uuid4()})
        assert enrollment.employee_id == person.employee_id


def test_a_vocabulary_without_the_skills_to_exchange_is_refused() -> None:
    with pytest.raises(ValueError, match="vocabulary"):
        generate_company(10, seed=1, vocabulary=[Skill("negotiation", "communication")])
