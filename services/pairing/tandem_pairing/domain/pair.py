"""A pair's stream: a proposal, the answers of both sides, and the tandem it becomes until it ends.

    proposed ──both accept──▶ active ──end (not_a_good_fit, participant_left, program_closed, rotated)──▶ ended
        ├──one declines──▶ declined       │
        ├──nobody declined, not both accepted by expires_at──▶ expired
        └──a participant left, the program closed──▶ withdrawn
                                          └──a profile change breaks a hard rule──▶ active, flagged infeasible

Hard rules hold at every acceptance, not only when the round proposed the pair: the application
passes the rules the pair breaks now (`violations`), and an acceptance is refused while it breaks any.

Decide functions take the state and what the application knows (`now`, the program's rotation
period) and return events; `evolve_pair` folds them. Nothing here does I/O.

>>> proposed = propose(pair_id, round_id, program_id, pairing, breakdown, now=now, expiry_days=7, rotation_months=6)
>>> events = decide_accept(replay_pair([proposed]), junior_id, now=now)
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import reduce
from typing import Any
from uuid import UUID

from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent

from tandem_pairing.domain.events import (
    DeclineReason,
    EndReason,
    PairActivated,
    PairBecameInfeasible,
    PairEnded,
    PairProposed,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ProposalReminderDue,
    ProposalWithdrawn,
    ScoreBreakdown,
    WithdrawalReason,
)
from tandem_pairing.domain.participants import Role
from tandem_pairing.domain.rounds import Pairing

__all__ = [
    "REMINDER_LEAD",
    "Pair",
    "PairInfeasible",
    "PairStatus",
    "add_months",
    "decide_accept",
    "decide_decline",
    "decide_end",
    "decide_expire",
    "decide_flag_infeasible",
    "decide_participant_left",
    "decide_program_closed",
    "decide_remind",
    "decide_rotate",
    "evolve_pair",
    "propose",
    "replay_pair",
]

REMINDER_LEAD = timedelta(days=1)
"""How long before expiry the unanswered side is reminded (at most halfway through the period)."""


class PairStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    ENDED = "ended"

    @property
    def is_open(self) -> bool:
        """Whether the pair still holds both people (a pending proposal or an active tandem)."""
        return self in (PairStatus.PROPOSED, PairStatus.ACTIVE)


@dataclass(frozen=True, slots=True)
class Pair:
    """A proposal and the tandem it may become."""

    pair_id: UUID
    program_id: UUID
    round_id: UUID
    junior_id: UUID
    senior_id: UUID
    status: PairStatus
    score: float
    proposed_at: datetime
    remind_at: datetime
    expires_at: datetime
    rotation_months: int
    accepted: frozenset[UUID] = frozenset()
    reminded: bool = False
    activated_at: datetime | None = None
    rotation_due_at: datetime | None = None
    reason: str | None = None  # why it was declined, withdrawn or ended
    infeasible: tuple[str, ...] = ()  # the hard rules an active pair was found breaking

    def identity(self) -> dict[str, Any]:
        """The fields every event of this pair carries."""
        return {
            "pair_id": self.pair_id,
            "program_id": self.program_id,
            "junior_id": self.junior_id,
            "senior_id": self.senior_id,
        }

    def role_of(self, participant_id: UUID) -> Role | None:
        """Which side `participant_id` is on, or None if they are not part of this pair."""
        return {self.junior_id: Role.JUNIOR, self.senior_id: Role.SENIOR}.get(participant_id)

    @property
    def waiting_for(self) -> tuple[UUID, ...]:
        """Who has not accepted yet, junior first."""
        return tuple(p for p in (self.junior_id, self.senior_id) if p not in self.accepted)


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months, on the same day or the month's last (31 Jan + 1 = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def propose(
    pair_id: UUID,
    round_id: UUID,
    program_id: UUID,
    pairing: Pairing,
    breakdown: ScoreBreakdown,
    *,
    now: datetime,
    expiry_days: int,
    rotation_months: int,
) -> PairProposed:
    """The event that starts a pair's stream: answer within `expiry_days`, reminded before that."""
    period = timedelta(days=expiry_days)
    expires_at = now + period
    return PairProposed(
        pair_id=pair_id,
        round_id=round_id,
        program_id=program_id,
        junior_id=pairing.junior_id,
        senior_id=pairing.senior_id,
        score=round(pairing.score, 4),
        breakdown=breakdown,
        pinned=pairing.pinned,
        proposed_at=now,
        remind_at=max(now + period / 2, expires_at - REMINDER_LEAD),
        expires_at=expires_at,
        rotation_months=rotation_months,
    )


def _existing(state: Pair | None) -> Pair:
    if state is None:
        raise NotFound("no such proposal or pair")
    return state


def _answerable(state: Pair | None, participant_id: UUID, now: datetime) -> tuple[Pair, Role]:
    pair = _existing(state)
    role = pair.role_of(participant_id)
    if role is None:
        raise DomainError("this participant is not part of the proposal", field="participant_id")
    if pair.status is not PairStatus.PROPOSED:
        raise InvalidTransition(f"the proposal is {pair.status}: it can no longer be answered")
    if now >= pair.expires_at:
        raise InvalidTransition("the proposal expired: it can no longer be answered")
    return pair, role


class PairInfeasible(InvalidTransition):
    """The pair breaks hard rules now (a profile changed since it was proposed): it cannot be accepted."""

    code = "pair-infeasible"


def decide_accept(
    state: Pair | None, participant_id: UUID, *, now: datetime, violations: Sequence[str] = ()
) -> list[DomainEvent]:
    """Accept for one side; the second acceptance activates the pair. Accepting twice changes nothing.

    `violations` are the hard rules the pair breaks now: any refuses the acceptance (`PairInfeasible`).
    """
    pair = _existing(state)
    if participant_id in pair.accepted and pair.status in (PairStatus.PROPOSED, PairStatus.ACTIVE):
        return []
    pair, role = _answerable(pair, participant_id, now)
    if violations:
        raise PairInfeasible(f"the pair breaks hard rules now ({', '.join(violations)}): it cannot be accepted")
    accepted = ProposalAccepted(**pair.identity(), participant_id=participant_id, role=role)
    if pair.accepted | {participant_id} != {pair.junior_id, pair.senior_id}:
        return [accepted]
    rotation_due_at = add_months(now, pair.rotation_months)
    activated = PairActivated(**pair.identity(), activated_at=now, rotation_due_at=rotation_due_at)
    return [accepted, activated]


def decide_decline(
    state: Pair | None, participant_id: UUID, reason: DeclineReason, *, now: datetime
) -> list[DomainEvent]:
    """Decline for one side, even after accepting: the proposal is over for both."""
    pair, role = _answerable(state, participant_id, now)
    return [ProposalDeclined(**pair.identity(), participant_id=participant_id, role=role, reason=reason)]


def decide_remind(state: Pair | None, *, now: datetime) -> list[DomainEvent]:
    """Once, when the reminder is due and the proposal is still waiting for someone."""
    pair = _existing(state)
    if pair.status is not PairStatus.PROPOSED or pair.reminded or now < pair.remind_at or now >= pair.expires_at:
        return []
    return [ProposalReminderDue(**pair.identity(), waiting_for=pair.waiting_for, expires_at=pair.expires_at)]


def decide_expire(state: Pair | None, *, now: datetime) -> list[DomainEvent]:
    """A proposal still unanswered at `expires_at` expires; anything else is left alone."""
    pair = _existing(state)
    if pair.status is not PairStatus.PROPOSED or now < pair.expires_at:
        return []
    return [ProposalExpired(**pair.identity(), unanswered=pair.waiting_for)]


def decide_end(
    state: Pair | None, reason: EndReason, *, now: datetime, left_participant_id: UUID | None = None
) -> list[DomainEvent]:
    """End an active pair; a proposal cannot be ended (it is declined, or withdrawn by pairing)."""
    pair = _existing(state)
    if pair.status is not PairStatus.ACTIVE:
        raise InvalidTransition(f"the pair is {pair.status}: only an active pair can end")
    return [PairEnded(**pair.identity(), reason=reason, ended_at=now, left_participant_id=left_participant_id)]


def decide_rotate(state: Pair | None, *, now: datetime) -> list[DomainEvent]:
    """End an active pair as rotated; a pair that ended meanwhile is left alone."""
    pair = _existing(state)
    if pair.status is not PairStatus.ACTIVE:
        return []
    return decide_end(pair, EndReason.ROTATED, now=now)


def decide_flag_infeasible(state: Pair | None, violations: Sequence[str], *, now: datetime) -> list[DomainEvent]:
    """Flag an active pair that breaks hard rules now; again only if the rules it breaks changed."""
    pair = _existing(state)
    if pair.status is not PairStatus.ACTIVE or not violations or tuple(violations) == pair.infeasible:
        return []
    return [PairBecameInfeasible(**pair.identity(), violations=tuple(violations), detected_at=now)]


def decide_participant_left(state: Pair | None, participant_id: UUID, *, now: datetime) -> list[DomainEvent]:
    """A participant withdrew from the program: their proposal is withdrawn, their pair ends."""
    pair = _existing(state)
    if pair.status is PairStatus.PROPOSED:
        return [
            ProposalWithdrawn(
                **pair.identity(), reason=WithdrawalReason.PARTICIPANT_LEFT, left_participant_id=participant_id
            )
        ]
    if pair.status is PairStatus.ACTIVE:
        return decide_end(pair, EndReason.PARTICIPANT_LEFT, now=now, left_participant_id=participant_id)
    return []


def decide_program_closed(state: Pair | None, *, now: datetime) -> list[DomainEvent]:
    """The program closed: pending proposals are withdrawn and active pairs end."""
    pair = _existing(state)
    if pair.status is PairStatus.PROPOSED:
        return [ProposalWithdrawn(**pair.identity(), reason=WithdrawalReason.PROGRAM_CLOSED)]
    if pair.status is PairStatus.ACTIVE:
        return decide_end(pair, EndReason.PROGRAM_CLOSED, now=now)
    return []


def evolve_pair(state: Pair | None, event: DomainEvent) -> Pair:
    """The pair after `event`. Raises `TypeError` on an event that is not a pair's."""
    if isinstance(event, PairProposed):
        return Pair(
            pair_id=event.pair_id,
            program_id=event.program_id,
            round_id=event.round_id,
            junior_id=event.junior_id,
            senior_id=event.senior_id,
            status=PairStatus.PROPOSED,
            score=event.score,
            proposed_at=event.proposed_at,
            remind_at=event.remind_at,
            expires_at=event.expires_at,
            rotation_months=event.rotation_months,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before PairProposed")
    match event:
        case ProposalAccepted():
            return replace(state, accepted=state.accepted | {event.participant_id})
        case PairActivated():
            return replace(
                state, status=PairStatus.ACTIVE, activated_at=event.activated_at, rotation_due_at=event.rotation_due_at
            )
        case ProposalDeclined():
            return replace(state, status=PairStatus.DECLINED, reason=event.reason)
        case ProposalReminderDue():
            return replace(state, reminded=True)
        case ProposalExpired():
            return replace(state, status=PairStatus.EXPIRED)
        case ProposalWithdrawn():
            return replace(state, status=PairStatus.WITHDRAWN, reason=event.reason)
        case PairEnded():
            return replace(state, status=PairStatus.ENDED, reason=event.reason)
        case PairBecameInfeasible():
            return replace(state, infeasible=event.violations)
    raise TypeError(f"not a pair event: {type(event).__name__}")


def replay_pair(events: Iterable[DomainEvent], state: Pair | None = None) -> Pair | None:
    """Fold `events` into `state` (from nothing by default): `None` if there were none."""
    return reduce(evolve_pair, events, state)
