"""A participant's evaluation, a pair's fit and when assessments fall due, as pure decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tandem_evaluation.domain.due import Timeline, pair_timeline, phases_due, program_timeline
from tandem_evaluation.domain.errors import AlreadyAnswered, InvalidAnswer, LateAnswer, NotAsked, UnknownPractice
from tandem_evaluation.domain.evaluation import (
    Evaluation,
    decide_abandon_practice,
    decide_adopt_practice,
    decide_feedback,
    decide_progress,
    decide_request,
    decide_self_assessment,
    decide_survey,
    replay_evaluation,
)
from tandem_evaluation.domain.events import (
    PairFitFailed,
    Phase,
    Role,
    SkillLevel,
    SkillsAssessed,
)
from tandem_evaluation.domain.facts import ANSWER_WINDOW, HeldSession, PairFacts, ParticipantFacts, ProgramFacts
from tandem_evaluation.domain.pair_fit import decide_fit_answer, replay_pair_fit

NOW = datetime(2026, 5, 1, 9, tzinfo=UTC)
PROGRAM = ProgramFacts(uuid4(), date(2026, 3, 1), date(2026, 12, 15), objectives=("ai", "network"))
JUNIOR = ParticipantFacts(uuid4(), PROGRAM.program_id, "E-1", Role.JUNIOR, ("leadership",), ("network",))
SENIOR = ParticipantFacts(uuid4(), PROGRAM.program_id, "E-2", Role.SENIOR, ("ai_tools", "social_networks"), ())


def asked(participant: ParticipantFacts, *phases: Phase) -> Evaluation:
    state = None
    for phase in phases:
        state = replay_evaluation(decide_request(state, participant, phase, pair_id=None, now=NOW), state)
    assert state is not None
    return state


def closed(at: datetime) -> ProgramFacts:
    return ProgramFacts(PROGRAM.program_id, PROGRAM.start_date, PROGRAM.end_date, PROGRAM.objectives, at)


def test_a_phase_is_asked_once() -> None:
    state = asked(SENIOR, Phase.BASELINE)

    assert decide_request(state, SENIOR, Phase.BASELINE, pair_id=None, now=NOW) == []
    assert state.pending() == [Phase.BASELINE]


def test_skills_are_rated_only_if_wanted_and_asked() -> None:
    state = asked(SENIOR, Phase.BASELINE)
    ratings = [SkillLevel(skill="ai_tools", level=2), SkillLevel(skill="social_networks", level=1)]

    [event] = decide_self_assessment(state, SENIOR, PROGRAM, Phase.BASELINE, ratings, now=NOW)

    assert isinstance(event, SkillsAssessed) and event.role is Role.SENIOR and event.by == "self"
    with pytest.raises(InvalidAnswer) as refused:
        decide_self_assessment(state, SENIOR, PROGRAM, Phase.BASELINE, [SkillLevel(skill="cooking", level=3)], now=NOW)
    assert refused.value.field == "ratings.0.skill" and refused.value.status == 422
    with pytest.raises(NotAsked):
        decide_self_assessment(state, SENIOR, PROGRAM, Phase.END, ratings, now=NOW)
    done = replay_evaluation([event], state)
    with pytest.raises(AlreadyAnswered):
        decide_self_assessment(done, SENIOR, PROGRAM, Phase.BASELINE, ratings, now=NOW)


def test_levels_are_one_to_five() -> None:
    with pytest.raises(ValueError):
        SkillLevel(skill="ai_tools", level=6)
    with pytest.raises(ValueError):
        SkillLevel(skill="ai_tools", level=0)


def test_after_the_close_only_the_end_and_the_survey_within_the_window() -> None:
    state = asked(SENIOR, Phase.BASELINE, Phase.END)
    ratings = [SkillLevel(skill="ai_tools", level=4)]
    program = closed(NOW - timedelta(days=1))

    assert decide_self_assessment(state, SENIOR, program, Phase.END, ratings, now=NOW)
    assert decide_survey(state, SENIOR, program, 4, 9, now=NOW)
    with pytest.raises(LateAnswer) as late:
        decide_self_assessment(state, SENIOR, program, Phase.BASELINE, ratings, now=NOW)
    assert late.value.status == 409
    with pytest.raises(LateAnswer):
        decide_self_assessment(state, SENIOR, program, Phase.END, ratings, now=NOW + ANSWER_WINDOW)
    with pytest.raises(LateAnswer):
        decide_progress(state, SENIOR, program, "ai", 50, now=NOW)


def test_practices_need_an_objective_of_the_participant_and_a_sane_date() -> None:
    practice = uuid4()
    [adopted] = decide_adopt_practice(None, JUNIOR, PROGRAM, practice, "network", date(2026, 4, 1), now=NOW)
    state = replay_evaluation([adopted], None)

    with pytest.raises(InvalidAnswer) as wrong:
        decide_adopt_practice(None, JUNIOR, PROGRAM, uuid4(), "ai", date(2026, 4, 1), now=NOW)
    assert wrong.value.field == "objective"  # the junior chose "network" only
    with pytest.raises(InvalidAnswer):
        decide_adopt_practice(None, JUNIOR, PROGRAM, uuid4(), "network", NOW.date() + timedelta(days=1), now=NOW)
    assert state is not None and state.has_adopted()
    with pytest.raises(InvalidAnswer):
        decide_abandon_practice(state, PROGRAM, practice, date(2026, 3, 1), now=NOW)
    abandoned = replay_evaluation(decide_abandon_practice(state, PROGRAM, practice, date(2026, 4, 20), now=NOW), state)
    assert abandoned is not None and not abandoned.has_adopted()
    with pytest.raises(AlreadyAnswered):
        decide_abandon_practice(abandoned, PROGRAM, practice, date(2026, 4, 20), now=NOW)
    with pytest.raises(UnknownPractice):
        decide_abandon_practice(state, PROGRAM, uuid4(), date(2026, 4, 20), now=NOW)


def test_feedback_once_per_held_session_of_ones_own() -> None:
    session = HeldSession(uuid4(), uuid4(), PROGRAM.program_id, JUNIOR.participant_id, SENIOR.participant_id, NOW)
    given = decide_feedback(None, JUNIOR, PROGRAM, session, 4, 5, now=NOW)
    state = replay_evaluation(given, None)

    with pytest.raises(AlreadyAnswered):
        decide_feedback(state, JUNIOR, PROGRAM, session, 4, 5, now=NOW)
    stranger = ParticipantFacts(uuid4(), PROGRAM.program_id, "E-3", Role.JUNIOR)
    with pytest.raises(NotAsked):
        decide_feedback(None, stranger, PROGRAM, session, 4, 5, now=NOW)


def test_the_survey_opens_with_the_end_and_is_answered_once() -> None:
    with pytest.raises(NotAsked):
        decide_survey(asked(SENIOR, Phase.BASELINE), SENIOR, PROGRAM, 4, 9, now=NOW)
    state = asked(SENIOR, Phase.BASELINE, Phase.END)
    answered = replay_evaluation(decide_survey(state, SENIOR, PROGRAM, 4, 9, now=NOW), state)
    with pytest.raises(AlreadyAnswered):
        decide_survey(answered, SENIOR, PROGRAM, 5, 10, now=NOW)


# -- pair fit ----------------------------------------------------------------------------------

PAIR = PairFacts(
    uuid4(), PROGRAM.program_id, JUNIOR.participant_id, SENIOR.participant_id, NOW, NOW + timedelta(days=90)
)


def answer(state, who, good_fit):  # type: ignore[no-untyped-def]
    events = decide_fit_answer(state, PAIR, who, good_fit=good_fit, held_sessions=1, now=NOW)
    return replay_pair_fit(events, state), events


def test_fit_is_asked_after_the_first_held_session() -> None:
    with pytest.raises(NotAsked):
        decide_fit_answer(None, PAIR, JUNIOR.participant_id, good_fit=True, held_sessions=0, now=NOW)


@pytest.mark.parametrize(
    "answers",
    [
        [("junior", False), ("senior", False)],  # two "no"
        [("junior", False), ("junior", False)],  # one person's "no", twice
        [("junior", False), ("senior", True), ("junior", False)],
    ],
)
def test_two_noes_fail_the_pair_once(answers: list[tuple[str, bool]]) -> None:
    people = {"junior": JUNIOR.participant_id, "senior": SENIOR.participant_id}
    state, events = None, []
    for who, good_fit in answers:
        state, events = answer(state, people[who], good_fit)

    assert isinstance(events[-1], PairFitFailed)
    assert (events[-1].junior_id, events[-1].senior_id) == (JUNIOR.participant_id, SENIOR.participant_id)
    with pytest.raises(AlreadyAnswered):
        answer(state, JUNIOR.participant_id, False)


def test_one_no_and_yeses_do_not_fail_the_pair() -> None:
    state, _ = answer(None, JUNIOR.participant_id, False)
    state, events = answer(state, SENIOR.participant_id, True)
    state, events = answer(state, SENIOR.participant_id, True)

    assert not any(isinstance(event, PairFitFailed) for event in events)
    assert state is not None and state.failed_at is None


# -- when assessments fall due -----------------------------------------------------------------


def test_baseline_at_start_midpoint_halfway_end_at_the_end() -> None:
    timeline = Timeline(NOW, NOW + timedelta(days=100))

    assert phases_due(timeline, NOW - timedelta(days=1), ended=False) == []
    assert phases_due(timeline, NOW, ended=False) == [Phase.BASELINE]
    assert phases_due(timeline, NOW + timedelta(days=50), ended=False) == [Phase.BASELINE, Phase.MIDPOINT]
    assert phases_due(timeline, NOW + timedelta(days=100), ended=False) == list(Phase)
    assert phases_due(timeline, NOW + timedelta(days=10), ended=True) == [Phase.BASELINE, Phase.END]


def test_timelines_of_a_pair_and_of_the_unpaired() -> None:
    assert pair_timeline(PAIR) == Timeline(PAIR.activated_at, PAIR.rotation_due_at)
    ended = PairFacts(PAIR.pair_id, PAIR.program_id, PAIR.junior_id, PAIR.senior_id, NOW, NOW + timedelta(days=90), NOW)
    assert pair_timeline(ended).end == NOW
    timeline = program_timeline(PROGRAM)
    assert (timeline.start.date(), timeline.end.date()) == (PROGRAM.start_date, PROGRAM.end_date)


@settings(deadline=None)  # scipy's first calls, and a loaded machine, take their time
@given(st.lists(st.tuples(st.sampled_from(["junior", "senior"]), st.booleans()), min_size=1, max_size=8))
def test_a_pair_fails_exactly_when_its_answers_hold_two_noes(answers: list[tuple[str, bool]]) -> None:
    """Against a plain oracle: the pair fails at the first answer that makes two "no" in all, and takes
    no answer after that."""
    people = {"junior": JUNIOR.participant_id, "senior": SENIOR.participant_id}
    noes, state, failed_at = 0, None, None
    for index, (who, good_fit) in enumerate(answers):
        if failed_at is not None:
            with pytest.raises(AlreadyAnswered):
                answer(state, people[who], good_fit)
            continue
        state, events = answer(state, people[who], good_fit)
        noes += not good_fit
        if noes == 2:
            failed_at = index
        assert any(isinstance(event, PairFitFailed) for event in events) == (failed_at == index)
    assert (state is not None and state.failed_at is not None) == (failed_at is not None)
