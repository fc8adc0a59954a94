"""Is this pair a good fit? Asked of both after their first held session.

    answering ──(two "no": both said it, or one said it twice)──► failed   (PairFitFailed, once)

A "yes" after a "no" does not undo it: the rule counts the "no"s. Once failed, the pair takes no
more answers; pairing ends it and pairs the two with other people.

>>> events = decide_fit_answer(None, pair, participant_id, good_fit=False, held_sessions=1, now=now)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent

from tandem_evaluation.domain.errors import AlreadyAnswered, NotAsked
from tandem_evaluation.domain.events import PairFitAnswered, PairFitFailed
from tandem_evaluation.domain.facts import PairFacts

__all__ = ["FitAnswer", "PairFit", "decide_fit_answer", "replay_pair_fit"]


class FitAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    participant_id: UUID
    good_fit: bool
    at: datetime


class PairFit(BaseModel):
    model_config = ConfigDict(frozen=True)

    pair_id: UUID
    program_id: UUID
    answers: tuple[FitAnswer, ...] = ()
    failed_at: datetime | None = None

    def noes(self) -> list[UUID]:
        return [answer.participant_id for answer in self.answers if not answer.good_fit]


def replay_pair_fit(events: Iterable[DomainEvent], state: PairFit | None) -> PairFit | None:
    for event in events:
        match event:
            case PairFitAnswered():
                state = state or PairFit(pair_id=event.pair_id, program_id=event.program_id)
                answer = FitAnswer(participant_id=event.participant_id, good_fit=event.good_fit, at=event.at)
                state = state.model_copy(update={"answers": (*state.answers, answer)})
            case PairFitFailed():
                assert state is not None
                state = state.model_copy(update={"failed_at": event.at})
            case _:
                raise AssertionError(f"not a pair-fit event: {event.event_type}")
    return state


def fails(noes: list[UUID]) -> bool:
    """Two "no": from both people, or twice from the same one — either way, two of them."""
    return len(noes) >= 2


def decide_fit_answer(
    state: PairFit | None, pair: PairFacts, participant_id: UUID, *, good_fit: bool, held_sessions: int, now: datetime
) -> list[DomainEvent]:
    if held_sessions < 1:
        raise NotAsked("the fit question comes after the pair's first held session")
    if pair.ended_at is not None:
        raise AlreadyAnswered("the pair has ended")
    if state is not None and state.failed_at is not None:
        raise AlreadyAnswered("the pair was already found not to fit")
    answered = PairFitAnswered(
        pair_id=pair.pair_id, program_id=pair.program_id, participant_id=participant_id, good_fit=good_fit, at=now
    )
    noes = [*(state.noes() if state else []), *([] if good_fit else [participant_id])]
    if not fails(noes):
        return [answered]
    failed = PairFitFailed(
        pair_id=pair.pair_id, program_id=pair.program_id, junior_id=pair.junior_id, senior_id=pair.senior_id, at=now
    )
    return [answered, failed]
