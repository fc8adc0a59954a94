"""One participant's evaluation: what they were asked, and what they (and their partner) answered.

    requested ──► assessed (self, and partner)      per phase: baseline → midpoint → end
    practices:    adopted ──► abandoned
    progress:     per objective, the latest percentage
    feedback:     one per held session of their pair
    survey:       once, when the end is asked

Every `decide_*` takes the evaluation so far (None before anything), the facts it depends on and
`now`, and returns the events to append or raises: a value the participant cannot give is an
`InvalidAnswer` (422, naming the field), an answer out of turn `NotAsked`/`AlreadyAnswered` (409), an
answer after the program closed `LateAnswer` (409). Only end assessments and the survey are taken
after the close, for `ANSWER_WINDOW`.

>>> events = decide_request(None, participant, Phase.BASELINE, pair_id=None, now=now)
>>> evaluation = replay_evaluation(events, None)
>>> decide_self_assessment(evaluation, participant, program, Phase.BASELINE, ratings, now=now)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent

from tandem_evaluation.domain.errors import AlreadyAnswered, InvalidAnswer, LateAnswer, NotAsked, UnknownPractice
from tandem_evaluation.domain.events import (
    AssessmentRequested,
    Assessor,
    ObjectiveProgressed,
    Phase,
    PracticeAbandoned,
    PracticeAdopted,
    SessionFeedbackGiven,
    SkillLevel,
    SkillsAssessed,
    SurveyAnswered,
)
from tandem_evaluation.domain.facts import HeldSession, ParticipantFacts, ProgramFacts

__all__ = [
    "Evaluation",
    "Feedback",
    "Practice",
    "decide_abandon_practice",
    "decide_adopt_practice",
    "decide_feedback",
    "decide_partner_assessment",
    "decide_progress",
    "decide_request",
    "decide_requests",
    "decide_self_assessment",
    "decide_survey",
    "replay_evaluation",
]


class _State(BaseModel):
    model_config = ConfigDict(frozen=True)


class Practice(_State):
    objective: str
    adopted_on: date
    abandoned_on: date | None = None


class Feedback(_State):
    pair_id: UUID
    usefulness: int
    trust: int


class Evaluation(_State):
    """A participant's evaluation so far (also the document the read model keeps)."""

    participant_id: UUID
    program_id: UUID
    requested: dict[Phase, datetime] = {}
    pair_of_phase: dict[Phase, UUID | None] = {}
    self_ratings: dict[Phase, dict[str, int]] = {}
    partner_ratings: dict[Phase, dict[str, int]] = {}
    practices: dict[UUID, Practice] = {}
    progress: dict[str, int] = {}
    feedback: dict[UUID, Feedback] = {}
    satisfaction: int | None = None
    recommendation: int | None = None

    def has_adopted(self) -> bool:
        """At least one practice adopted and not abandoned."""
        return any(practice.abandoned_on is None for practice in self.practices.values())

    def pending(self) -> list[Phase]:
        """Phases asked and not yet self-assessed."""
        return [phase for phase in Phase if phase in self.requested and phase not in self.self_ratings]


def replay_evaluation(events: Iterable[DomainEvent], state: Evaluation | None) -> Evaluation | None:
    for event in events:
        state = _evolve(state, event)
    return state


def _evolve(state: Evaluation | None, event: DomainEvent) -> Evaluation:
    if state is None:
        assert isinstance(event, AssessmentRequested | PracticeAdopted | ObjectiveProgressed | SessionFeedbackGiven)
        state = Evaluation(participant_id=event.participant_id, program_id=event.program_id)
    match event:
        case AssessmentRequested():
            return state.model_copy(
                update={
                    "requested": {**state.requested, event.phase: event.requested_at},
                    "pair_of_phase": {**state.pair_of_phase, event.phase: event.pair_id},
                }
            )
        case SkillsAssessed(by=Assessor.SELF):
            levels = {rating.skill: rating.level for rating in event.ratings}
            return state.model_copy(update={"self_ratings": {**state.self_ratings, event.phase: levels}})
        case SkillsAssessed():
            levels = {rating.skill: rating.level for rating in event.ratings}
            return state.model_copy(update={"partner_ratings": {**state.partner_ratings, event.phase: levels}})
        case PracticeAdopted():
            practice = Practice(objective=event.objective, adopted_on=event.adopted_on)
            return state.model_copy(update={"practices": {**state.practices, event.practice_id: practice}})
        case PracticeAbandoned():
            abandoned = state.practices[event.practice_id].model_copy(update={"abandoned_on": event.abandoned_on})
            return state.model_copy(update={"practices": {**state.practices, event.practice_id: abandoned}})
        case ObjectiveProgressed():
            return state.model_copy(update={"progress": {**state.progress, event.objective: event.percent}})
        case SessionFeedbackGiven():
            feedback = Feedback(pair_id=event.pair_id, usefulness=event.usefulness, trust=event.trust)
            return state.model_copy(update={"feedback": {**state.feedback, event.session_id: feedback}})
        case SurveyAnswered():
            return state.model_copy(update={"satisfaction": event.satisfaction, "recommendation": event.recommendation})
    raise AssertionError(f"not an event of a participant's evaluation: {event.event_type}")


# -- decisions -----------------------------------------------------------------------------------


def decide_request(
    state: Evaluation | None, participant: ParticipantFacts, phase: Phase, *, pair_id: UUID | None, now: datetime
) -> list[DomainEvent]:
    """Ask for `phase`'s assessment, once: asking again changes nothing."""
    if state is not None and phase in state.requested:
        return []
    return [
        AssessmentRequested(
            program_id=participant.program_id,
            participant_id=participant.participant_id,
            pair_id=pair_id,
            phase=phase,
            requested_at=now,
        )
    ]


def decide_requests(
    state: Evaluation | None,
    participant: ParticipantFacts,
    phases: Sequence[Phase],
    *,
    pair_id: UUID | None,
    now: datetime,
) -> list[DomainEvent]:
    """Ask for each of `phases` not asked yet. A midpoint is asked only of someone asked for a baseline
    before: a person who joins late (a waitlist, a late pair) starts with a baseline, not two questions."""
    asked_before = state is not None and Phase.BASELINE in state.requested
    return [
        event
        for phase in phases
        if phase is not Phase.MIDPOINT or asked_before
        for event in decide_request(state, participant, phase, pair_id=pair_id, now=now)
    ]


def _still_open(program: ProgramFacts, now: datetime, *, closing_answer: bool) -> None:
    late_at = program.late_at()
    if late_at is None:
        return
    if not closing_answer:
        raise LateAnswer("the program is closed: only end assessments and surveys are still taken")
    if now >= late_at:
        raise LateAnswer(
            f"the program closed on {program.closed_at:%Y-%m-%d}; answers were taken until {late_at:%Y-%m-%d}"
        )


def _checked_ratings(participant: ParticipantFacts, ratings: Sequence[SkillLevel]) -> tuple[SkillLevel, ...]:
    if not ratings:
        raise InvalidAnswer("rate at least one of the skills wanted", field="ratings")
    seen: set[str] = set()
    for index, rating in enumerate(ratings):
        if rating.skill not in participant.skills_wanted:
            wanted = ", ".join(participant.skills_wanted) or "none"
            raise InvalidAnswer(
                f"{rating.skill!r} is not a skill this participant wanted (wanted: {wanted})",
                field=f"ratings.{index}.skill",
            )
        if rating.skill in seen:
            raise InvalidAnswer(f"{rating.skill!r} is rated twice", field=f"ratings.{index}.skill")
        seen.add(rating.skill)
    return tuple(ratings)


def _assessment(
    state: Evaluation | None,
    participant: ParticipantFacts,
    program: ProgramFacts,
    phase: Phase,
    ratings: Sequence[SkillLevel],
    by: Assessor,
    now: datetime,
) -> list[DomainEvent]:
    _still_open(program, now, closing_answer=phase is Phase.END)
    if state is None or phase not in state.requested:
        raise NotAsked(f"the {phase} assessment has not been asked for yet")
    done = state.self_ratings if by is Assessor.SELF else state.partner_ratings
    if phase in done:
        raise AlreadyAnswered(f"the {phase} assessment by {by} was already given")
    return [
        SkillsAssessed(
            program_id=participant.program_id,
            participant_id=participant.participant_id,
            pair_id=state.pair_of_phase.get(phase),
            role=participant.role,
            phase=phase,
            by=by,
            ratings=_checked_ratings(participant, ratings),
            assessed_at=now,
        )
    ]


def decide_self_assessment(
    state: Evaluation | None,
    participant: ParticipantFacts,
    program: ProgramFacts,
    phase: Phase,
    ratings: Sequence[SkillLevel],
    *,
    now: datetime,
) -> list[DomainEvent]:
    """The participant rates their own level (1-5) on skills they wanted, for a phase they were asked."""
    return _assessment(state, participant, program, phase, ratings, Assessor.SELF, now)


def decide_partner_assessment(
    state: Evaluation | None,
    participant: ParticipantFacts,
    program: ProgramFacts,
    phase: Phase,
    ratings: Sequence[SkillLevel],
    *,
    now: datetime,
) -> list[DomainEvent]:
    """The partner rates `participant`'s level on the skills `participant` wanted (the edge checks who)."""
    return _assessment(state, participant, program, phase, ratings, Assessor.PARTNER, now)


def _objective(participant: ParticipantFacts, program: ProgramFacts, objective: str) -> str:
    allowed = participant.objectives or program.objectives
    if objective not in allowed:
        raise InvalidAnswer(
            f"{objective!r} is not one of this participant's objectives ({', '.join(allowed) or 'none'})",
            field="objective",
        )
    return objective


def decide_adopt_practice(
    state: Evaluation | None,
    participant: ParticipantFacts,
    program: ProgramFacts,
    practice_id: UUID,
    objective: str,
    adopted_on: date,
    *,
    now: datetime,
) -> list[DomainEvent]:
    _still_open(program, now, closing_answer=False)
    if adopted_on > now.date():
        raise InvalidAnswer("a practice is adopted today or earlier", field="adopted_on")
    if state is not None and practice_id in state.practices:
        return []  # the same practice declared again (a retried request)
    return [
        PracticeAdopted(
            program_id=participant.program_id,
            participant_id=participant.participant_id,
            practice_id=practice_id,
            objective=_objective(participant, program, objective),
            adopted_on=adopted_on,
        )
    ]


def decide_abandon_practice(
    state: Evaluation | None, program: ProgramFacts, practice_id: UUID, abandoned_on: date, *, now: datetime
) -> list[DomainEvent]:
    practice = None if state is None else state.practices.get(practice_id)
    if state is None or practice is None:
        raise UnknownPractice("no such practice")
    _still_open(program, now, closing_answer=False)
    if practice.abandoned_on is not None:
        raise AlreadyAnswered("this practice was already abandoned")
    if not practice.adopted_on <= abandoned_on <= now.date():
        raise InvalidAnswer("a practice is abandoned after it was adopted, and not in the future", field="abandoned_on")
    return [
        PracticeAbandoned(
            program_id=state.program_id,
            participant_id=state.participant_id,
            practice_id=practice_id,
            abandoned_on=abandoned_on,
        )
    ]


def decide_progress(
    state: Evaluation | None,
    participant: ParticipantFacts,
    program: ProgramFacts,
    objective: str,
    percent: int,
    *,
    now: datetime,
) -> list[DomainEvent]:
    _still_open(program, now, closing_answer=False)
    if not 0 <= percent <= 100:
        raise InvalidAnswer("progress is a percentage, 0 to 100", field="percent")
    return [
        ObjectiveProgressed(
            program_id=participant.program_id,
            participant_id=participant.participant_id,
            objective=_objective(participant, program, objective),
            percent=percent,
            at=now,
        )
    ]


def decide_feedback(
    state: Evaluation | None,
    participant: ParticipantFacts,
    program: ProgramFacts,
    session: HeldSession,
    usefulness: int,
    trust: int,
    *,
    now: datetime,
) -> list[DomainEvent]:
    """The participant rates a session of their pair that was held."""
    _still_open(program, now, closing_answer=False)
    if participant.participant_id not in (session.junior_id, session.senior_id):
        raise NotAsked("this session is not one of this participant's")
    if state is not None and session.session_id in state.feedback:
        raise AlreadyAnswered("feedback on this session was already given")
    return [
        SessionFeedbackGiven(
            program_id=participant.program_id,
            participant_id=participant.participant_id,
            session_id=session.session_id,
            pair_id=session.pair_id,
            usefulness=usefulness,
            trust=trust,
            at=now,
        )
    ]


def decide_survey(
    state: Evaluation | None,
    participant: ParticipantFacts,
    program: ProgramFacts,
    satisfaction: int,
    recommendation: int,
    *,
    now: datetime,
) -> list[DomainEvent]:
    """The end-of-program survey, once, when the end assessment has been asked."""
    _still_open(program, now, closing_answer=True)
    if state is None or Phase.END not in state.requested:
        raise NotAsked("the survey opens with the end assessment")
    if state.recommendation is not None:
        raise AlreadyAnswered("the survey was already answered")
    return [
        SurveyAnswered(
            program_id=participant.program_id,
            participant_id=participant.participant_id,
            satisfaction=satisfaction,
            recommendation=recommendation,
            at=now,
        )
    ]
