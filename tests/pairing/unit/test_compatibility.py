"""Compatibility of one junior and one senior: each component, the hard constraints, and the explanation."""

from __future__ import annotations

import pytest
from tandem_pairing.domain import (
    MeetingPreference,
    Role,
    SitePreference,
    Violation,
    Weights,
    assess,
    skill_value,
)

from .pools import candidate, junior, senior, settings, window

REMOTE, IN_PERSON, EITHER = MeetingPreference.REMOTE, MeetingPreference.IN_PERSON, MeetingPreference.EITHER


class TestSkills:
    def test_an_offer_with_more_headroom_over_the_want_is_worth_more(self) -> None:
        assert skill_value(4, 1) > skill_value(2, 2) > skill_value(1, 2) > skill_value(1, 3) == 0

        expert = assess(junior(skills_offered={"genai": 4}), senior(skills_wanted={"genai": 1}), settings())
        peer = assess(junior(skills_offered={"genai": 2}), senior(skills_wanted={"genai": 2}), settings())
        assert expert.points.junior_teaches > peer.points.junior_teaches > 0

    def test_an_offer_nobody_wants_is_worth_nothing(self) -> None:
        fit = assess(junior(skills_offered={"genai": 5}), senior(skills_wanted={"negotiation": 1}), settings())

        assert fit.points.junior_teaches == 0
        assert fit.junior_teaches == ()

    def test_knowledge_flows_both_ways_with_the_senior_direction_weighted_lower(self) -> None:
        junior_teaching = assess(junior(skills_offered={"genai": 5}), senior(skills_wanted={"genai": 1}), settings())
        senior_teaching = assess(junior(skills_wanted={"genai": 1}), senior(skills_offered={"genai": 5}), settings())

        assert 0 < senior_teaching.points.senior_teaches < junior_teaching.points.junior_teaches
        assert [m.skill for m in senior_teaching.senior_teaches] == ["genai"]

    def test_covering_more_of_what_the_learner_wants_earns_more(self) -> None:
        wants = {"genai": 1, "excel": 1}
        one = assess(junior(skills_offered={"genai": 5}), senior(skills_wanted=wants), settings())
        both = assess(junior(skills_offered={"genai": 5, "excel": 5}), senior(skills_wanted=wants), settings())

        assert both.points.junior_teaches == pytest.approx(2 * one.points.junior_teaches)
        assert both.points.junior_teaches == pytest.approx(settings().max_points.junior_teaches)


class TestOtherComponents:
    def test_shared_objectives_earn_points_in_proportion(self) -> None:
        same = assess(junior(objectives={"visibility"}), senior(objectives={"visibility"}), settings())
        partly = assess(junior(objectives={"visibility", "ai"}), senior(objectives={"visibility"}), settings())
        none = assess(junior(objectives={"ai"}), senior(objectives={"visibility"}), settings())

        assert same.points.shared_objectives == pytest.approx(settings().max_points.shared_objectives)
        assert 0 < partly.points.shared_objectives < same.points.shared_objectives
        assert none.points.shared_objectives == 0 and none.shared_objectives == frozenset()

    def test_pairs_across_departments_break_silos(self) -> None:
        across = assess(junior(department="IT"), senior(department="Sales"), settings())
        within = assess(junior(department="IT"), senior(department="IT"), settings())

        assert across.points.different_departments > 0 and across.different_departments
        assert within.points.different_departments == 0

    @pytest.mark.parametrize(
        ("preference", "same_site_earns", "other_site_earns"),
        [(SitePreference.SAME, True, False), (SitePreference.DIFFERENT, False, True)],
    )
    def test_sites_follow_the_programs_preference(
        self, preference: SitePreference, same_site_earns: bool, other_site_earns: bool
    ) -> None:
        program = settings(site_preference=preference)
        same = assess(junior(site="Lyon"), senior(site="Lyon"), program)
        other = assess(junior(site="Lyon"), senior(site="Pune"), program)

        assert (same.points.site > 0, other.points.site > 0) == (same_site_earns, other_site_earns)

    def test_an_indifferent_program_gives_the_site_no_weight_at_all(self) -> None:
        program = settings(site_preference=SitePreference.INDIFFERENT, weights=Weights(site=50))

        assert program.max_points.site == 0
        assert assess(junior(site="Lyon"), senior(site="Lyon"), program).points.site == 0

    def test_more_common_hours_earn_more_up_to_four_sessions(self) -> None:
        def availability_points(hours: int) -> float:
            windows = tuple(window(day, "09:00", "10:00") for day in range(hours))
            return assess(junior(availability=windows), senior(availability=windows), settings()).points.availability

        assert availability_points(1) < availability_points(2) < availability_points(4) == availability_points(5)

    @pytest.mark.parametrize(
        ("junior_mode", "senior_mode", "same_site", "compatible"),
        [
            (REMOTE, REMOTE, False, True),
            (REMOTE, IN_PERSON, True, False),
            (IN_PERSON, IN_PERSON, True, True),
            (IN_PERSON, IN_PERSON, False, False),
            (EITHER, IN_PERSON, True, True),
            (EITHER, IN_PERSON, False, False),
            (EITHER, REMOTE, False, True),
            (EITHER, EITHER, False, True),
        ],
    )
    def test_meeting_in_person_needs_a_shared_site_and_either_suits_anything_possible(
        self, junior_mode: MeetingPreference, senior_mode: MeetingPreference, same_site: bool, compatible: bool
    ) -> None:
        fit = assess(
            junior(meeting_preference=junior_mode, site="Lyon"),
            senior(meeting_preference=senior_mode, site="Lyon" if same_site else "Pune"),
            settings(),
        )

        assert (fit.points.meeting_mode > 0) is compatible
        assert bool(fit.meeting_modes) is compatible
        assert fit.feasible  # a mode mismatch costs points; it is not a hard constraint


class TestHardConstraints:
    def test_a_pair_without_a_shared_language_is_impossible(self) -> None:
        fit = assess(junior(languages={"fr"}), senior(languages={"de", "en"}), settings())

        assert not fit.feasible and fit.violations == (Violation.NO_SHARED_LANGUAGE,)
        assert assess(junior(languages={"fr", "en"}), senior(languages={"de", "en"}), settings()).shared_languages == {
            "en"
        }

    @pytest.mark.parametrize("junior_reports_to_senior", [True, False])
    def test_nobody_is_paired_with_their_manager_or_direct_report(self, junior_reports_to_senior: bool) -> None:
        boss = senior(employee_id="E-boss") if junior_reports_to_senior else junior(employee_id="E-boss")
        report = candidate(Role.JUNIOR if junior_reports_to_senior else Role.SENIOR, manager_employee_id="E-boss")
        pair = (report, boss) if junior_reports_to_senior else (boss, report)

        assert assess(*pair, settings()).violations == (Violation.MANAGER_LINE,)

    def test_a_manager_is_known_whatever_the_case_their_id_was_typed_in(self) -> None:
        boss, report = senior(employee_id="p-j2w"), junior(manager_employee_id="P-J2W")

        assert assess(report, boss, settings()).violations == (Violation.MANAGER_LINE,)

    def test_forbidden_pairs_are_impossible(self) -> None:
        ana, bob = junior(), senior()

        fit = assess(ana, bob, settings(), forbidden={(ana.participant_id, bob.participant_id)})

        assert fit.violations == (Violation.FORBIDDEN_PAIR,)

    def test_less_common_time_than_one_session_makes_a_pair_impossible(self) -> None:
        ana = junior(availability=(window(0, "09:00", "10:00"),))
        short = senior(availability=(window(0, "09:16", "10:00"),))  # 44 minutes together
        exact = senior(availability=(window(0, "09:15", "10:00"),))  # 45 minutes together

        assert assess(ana, short, settings(session_minutes=45)).violations == (Violation.INSUFFICIENT_OVERLAP,)
        assert assess(ana, exact, settings(session_minutes=45)).feasible
        assert assess(ana, exact, settings(session_minutes=45)).overlap_minutes == 45

    def test_every_broken_constraint_is_reported(self) -> None:
        ana = junior(languages={"fr"}, availability=(window(0, "09:00", "10:00"),))
        bob = senior(languages={"de"}, availability=(window(1, "09:00", "10:00"),), manager_employee_id=ana.employee_id)

        fit = assess(ana, bob, settings(), forbidden={(ana.participant_id, bob.participant_id)})

        assert set(fit.violations) == set(Violation)


class TestExplanation:
    def test_a_perfect_pair_scores_100_and_the_points_add_up_to_the_score(self) -> None:
        program = settings(site_preference=SitePreference.DIFFERENT)
        ana = junior(skills_offered={"genai": 5}, skills_wanted={"negotiation": 1}, objectives={"ai"}, department="IT")
        bob = senior(
            skills_offered={"negotiation": 5},
            skills_wanted={"genai": 1},
            objectives={"ai"},
            department="HR",
            site="Pune",
        )

        fit = assess(ana, bob, program)

        assert fit.score == pytest.approx(100)
        assert fit.points.total == fit.score

    def test_an_impossible_pair_still_explains_how_well_it_would_fit(self) -> None:
        ana = junior(languages={"fr"}, skills_offered={"genai": 5})
        bob = senior(languages={"de"}, skills_wanted={"genai": 1})

        fit = assess(ana, bob, settings())

        assert not fit.feasible and fit.score > 0
        assert fit.junior_teaches[0].skill == "genai" and fit.junior_teaches[0].value == skill_value(5, 1)

    def test_assess_takes_a_junior_then_a_senior(self) -> None:
        with pytest.raises(ValueError, match="junior first"):
            assess(senior(), junior(), settings())
