"""The views served over HTTP, from the read model and the facts: a participant's evaluation, a pair's
evaluation, a program's impact. Who may see which is decided at the edge (`entrypoints`).
"""

from __future__ import annotations

from statistics import fmean
from uuid import UUID

from tandem_kernel.privacy import SubjectKeys

from tandem_evaluation.adapters import facts, notes, read_model
from tandem_evaluation.adapters.facts import Executor
from tandem_evaluation.application import impact
from tandem_evaluation.domain.evaluation import Evaluation, Feedback
from tandem_evaluation.domain.events import Phase
from tandem_evaluation.domain.facts import PairFacts, ParticipantFacts
from tandem_evaluation.domain.impact import program_impact
from tandem_evaluation.domain.pair_fit import PairFit
from tandem_evaluation.entrypoints.schemas import (
    Asked,
    FeedbackSummary,
    FitAnswerPublic,
    PairEvaluationPublic,
    ParticipantEvaluationPublic,
    PracticePublic,
    ProgramImpactPublic,
    SessionRating,
    SkillProgress,
)

__all__ = ["pair_view", "participant_view", "program_view"]


def _ratings(feedback: dict[UUID, Feedback]) -> list[SessionRating]:
    return [
        SessionRating(session_id=session_id, usefulness=given.usefulness, trust=given.trust)
        for session_id, given in feedback.items()
    ]


async def participant_view(
    executor: Executor, keys: SubjectKeys | None, participant: ParticipantFacts, *, with_notes: bool
) -> ParticipantEvaluationPublic:
    """The participant's evaluation; their free text only `with_notes` (for themselves)."""
    participant_id = participant.participant_id
    evaluation = await read_model.load_evaluation(executor, participant_id) or Evaluation(
        participant_id=participant_id, program_id=participant.program_id
    )
    pairs = await facts.pairs_of(executor, participant_id)
    held = [session for pair in pairs for session in await facts.held_sessions_of_pair(executor, pair.pair_id)]
    fit_pending = []
    received: dict[UUID, Feedback] = {}
    for pair in pairs:
        fit = await read_model.load_pair_fit(executor, pair.pair_id)
        answered = fit is not None and any(answer.participant_id == participant_id for answer in fit.answers)
        pair_held = any(session.pair_id == pair.pair_id for session in held)
        if pair_held and pair.ended_at is None and not answered and (fit is None or fit.failed_at is None):
            fit_pending.append(pair.pair_id)
        partner = pair.partner_of(participant_id)
        theirs = None if partner is None else await read_model.load_evaluation(executor, partner)
        if theirs is not None:
            received.update({key: value for key, value in theirs.feedback.items() if value.pair_id == pair.pair_id})
    written = await notes.read(executor, keys, participant_id) if with_notes and keys is not None else {}
    counts = await facts.session_counts(executor, participant_id)
    own = evaluation.self_ratings
    return ParticipantEvaluationPublic(
        participant_id=participant_id,
        program_id=participant.program_id,
        role=participant.role,
        asked=Asked(
            assessments=evaluation.pending(),
            feedback=[session.session_id for session in held if session.session_id not in evaluation.feedback],
            fit=fit_pending,
            survey=Phase.END in evaluation.requested and evaluation.recommendation is None,
        ),
        skills=[
            SkillProgress(
                skill=skill,
                baseline=own.get(Phase.BASELINE, {}).get(skill),
                midpoint=own.get(Phase.MIDPOINT, {}).get(skill),
                end=own.get(Phase.END, {}).get(skill),
                delta=_delta(own, skill),
                partner_end=evaluation.partner_ratings.get(Phase.END, {}).get(skill),
            )
            for skill in participant.skills_wanted
        ],
        objectives=evaluation.progress,
        practices=[
            PracticePublic(
                practice_id=practice_id,
                objective=practice.objective,
                adopted_on=practice.adopted_on,
                abandoned_on=practice.abandoned_on,
                description=written.get(f"practice:{practice_id}"),
            )
            for practice_id, practice in evaluation.practices.items()
        ],
        sessions_planned=sum(counts.get(status, 0) for status in ("scheduled", "held", "missed")),
        sessions_held=counts.get("held", 0),
        feedback_given=_ratings(evaluation.feedback),
        feedback_received=_ratings(received),
        satisfaction=evaluation.satisfaction,
        recommendation=evaluation.recommendation,
    )


def _delta(own: dict[Phase, dict[str, int]], skill: str) -> int | None:
    baseline, end = own.get(Phase.BASELINE, {}).get(skill), own.get(Phase.END, {}).get(skill)
    return None if baseline is None or end is None else end - baseline


def _mean(values: list[int]) -> float | None:
    return fmean(values) if values else None


async def pair_view(executor: Executor, pair: PairFacts) -> PairEvaluationPublic:
    held = await facts.held_sessions_of_pair(executor, pair.pair_id)
    given: list[Feedback] = []
    for person in (pair.junior_id, pair.senior_id):
        evaluation = await read_model.load_evaluation(executor, person)
        if evaluation is not None:
            given += [feedback for feedback in evaluation.feedback.values() if feedback.pair_id == pair.pair_id]
    fit = await read_model.load_pair_fit(executor, pair.pair_id)
    usefulness, trust = _mean([f.usefulness for f in given]), _mean([f.trust for f in given])
    return PairEvaluationPublic(
        pair_id=pair.pair_id,
        program_id=pair.program_id,
        junior_id=pair.junior_id,
        senior_id=pair.senior_id,
        sessions_held=len(held),
        feedback_count=len(given),
        mean_usefulness=usefulness,
        mean_trust=trust,
        fit_answers=[
            FitAnswerPublic(participant_id=a.participant_id, good_fit=a.good_fit, at=a.at)
            for a in (fit.answers if fit else ())
        ],
        fit_failed_at=fit.failed_at if fit else None,
        health=_health(pair, len(held), fit, usefulness, trust),
    )


def _health(pair: PairFacts, held: int, fit: PairFit | None, usefulness: float | None, trust: float | None) -> str:
    if fit is not None and fit.failed_at is not None:
        return "not_a_fit"
    if pair.ended_at is not None:
        return "ended"
    if held == 0:
        return "not_started"
    low = any(mean is not None and mean < 3 for mean in (usefulness, trust))
    doubted = fit is not None and bool(fit.noes())
    return "at_risk" if doubted or low else "healthy"


async def program_view(executor: Executor, program_id: UUID) -> ProgramImpactPublic:
    outcomes = await impact.outcomes_of(executor, program_id)
    figures = program_impact(outcomes)
    feedback = [
        given
        for evaluation in (await read_model.evaluations_of_program(executor, program_id)).values()
        for given in evaluation.feedback.values()
    ]
    return ProgramImpactPublic(
        program_id=program_id,
        evaluated=len(outcomes),
        skills=list(figures.skills),
        adopted_share=figures.adopted_share,
        nps=figures.nps,
        completion=figures.completion,
        comparison=list(figures.comparison),
        feedback=FeedbackSummary(
            count=len(feedback),
            mean_usefulness=_mean([f.usefulness for f in feedback]),
            mean_trust=_mean([f.trust for f in feedback]),
        ),
    )
