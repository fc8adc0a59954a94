"""A round's stream (`round-<round id>`): started, then completed with its proposals, or failed.

The round's proposals are streams of their own (`pair-<pair id>`), begun by `conclude_round` from
the domain's `RoundResult`. Pair ids derive from the round and the two people, so concluding the
same result twice names the same streams (the second write fails instead of duplicating).

>>> started = start_round(round_id, program_id, RoundKind.FULL, settings=effective, session_minutes=45, now=now)
>>> proposals, completed = conclude_round(replay_round([started]), result, pool, now=now)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from functools import reduce
from uuid import UUID, uuid5

from tandem_kernel.errors import InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent

from tandem_pairing.domain.compatibility import assess
from tandem_pairing.domain.events import (
    PairingRoundCompleted,
    PairingRoundFailed,
    PairingRoundStarted,
    PairProposed,
    ProgramPairingSettings,
    RejectedPinRecord,
    RoundKind,
    UnmatchedParticipant,
    UnmatchedReason,
)
from tandem_pairing.domain.pair import propose
from tandem_pairing.domain.participants import Candidate
from tandem_pairing.domain.program_rules import monday_of, scoring_settings
from tandem_pairing.domain.rounds import RoundResult

__all__ = [
    "PairingRound",
    "RoundStatus",
    "conclude_round",
    "decide_complete",
    "decide_fail",
    "evolve_round",
    "pair_id_for",
    "replay_round",
    "start_round",
]

# Fixed forever: changing it would rename the pairs of every round concluded again.
_PAIRS = UUID("0c3c6f1e-2b7d-5d3a-8f61-4a9e2c7b5d10")


class RoundStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PairingRound:
    """A round: what it pairs under, and how it ended."""

    round_id: UUID
    program_id: UUID
    kind: RoundKind
    status: RoundStatus
    reference_week: date
    session_minutes: int
    settings: ProgramPairingSettings
    started_at: datetime
    rotate_due_by: datetime | None = None


def start_round(
    round_id: UUID,
    program_id: UUID,
    kind: RoundKind,
    *,
    settings: ProgramPairingSettings,
    session_minutes: int,
    now: datetime,
    rotate_due_by: datetime | None = None,
) -> PairingRoundStarted:
    """The event that starts a round's stream. `settings` are the effective ones (no `None` left)."""
    if settings.proposal_expiry_days is None or settings.rotation_months is None:
        raise ValueError("a round pairs under effective settings (see program_rules.effective_settings)")
    return PairingRoundStarted(
        round_id=round_id,
        program_id=program_id,
        kind=kind,
        reference_week=monday_of(now),
        session_minutes=session_minutes,
        settings=settings,
        started_at=now,
        rotate_due_by=rotate_due_by if kind is RoundKind.ROTATION else None,
    )


def pair_id_for(round_id: UUID, junior_id: UUID, senior_id: UUID) -> UUID:
    """The id of the pair a round proposes between two people: the same inputs, the same id."""
    return uuid5(_PAIRS, f"{round_id}/{junior_id}/{senior_id}")


def _running(state: PairingRound | None) -> PairingRound:
    if state is None:
        raise NotFound("no such round")
    if state.status is not RoundStatus.RUNNING:
        raise InvalidTransition(f"the round is {state.status}")
    return state


def conclude_round(
    state: PairingRound | None,
    result: RoundResult,
    pool: Mapping[UUID, Candidate],
    *,
    now: datetime,
    gone: Set[UUID] = frozenset(),
    rotated_pairs: int = 0,
) -> tuple[list[PairProposed], PairingRoundCompleted]:
    """The proposals of a computed round and the event completing it.

    `pool` holds the round's candidates by id (their breakdowns are computed here); `gone` are
    participants who left while the round was computed: their pairs are dropped, and their partners
    reported unmatched (`partner_left`).
    """
    round_ = _running(state)
    settings = scoring_settings(round_.settings, round_.session_minutes, round_.reference_week)
    expiry_days, rotation_months = round_.settings.proposal_expiry_days, round_.settings.rotation_months
    assert expiry_days is not None and rotation_months is not None, "start_round saw to it"
    proposals: list[PairProposed] = []
    left_alone: list[UnmatchedParticipant] = []
    for pairing in result.pairings:
        junior, senior = pool[pairing.junior_id], pool[pairing.senior_id]
        if junior.participant_id in gone or senior.participant_id in gone:
            left_alone += [
                UnmatchedParticipant(participant_id=c.participant_id, role=c.role, reason=UnmatchedReason.PARTNER_LEFT)
                for c in (junior, senior)
                if c.participant_id not in gone
            ]
            continue
        pair_id = pair_id_for(round_.round_id, junior.participant_id, senior.participant_id)
        breakdown = assess(junior, senior, settings).points.rounded()
        proposals.append(
            propose(
                pair_id,
                round_.round_id,
                round_.program_id,
                pairing,
                breakdown,
                now=now,
                expiry_days=expiry_days,
                rotation_months=rotation_months,
            )
        )
    unmatched = [
        UnmatchedParticipant(participant_id=u.participant_id, role=u.role, reason=u.reason)
        for u in result.unmatched
        if u.participant_id not in gone
    ]
    unmatched = sorted([*unmatched, *left_alone], key=lambda u: u.participant_id)
    completed = PairingRoundCompleted(
        round_id=round_.round_id,
        program_id=round_.program_id,
        kind=round_.kind,
        pool_size=len(pool),
        matched=len(proposals),
        unmatched_count=len(unmatched),
        unmatched=tuple(unmatched),
        rejected_pins=tuple(
            RejectedPinRecord(
                junior_id=pin.junior_id,
                senior_id=pin.senior_id,
                reason=pin.reason.value,
                violations=tuple(v.value for v in pin.violations),
            )
            for pin in result.rejected_pins
        ),
        rotated_pairs=rotated_pairs,
        total_score=round(sum(p.score for p in proposals), 4),
        completed_at=now,
    )
    return proposals, completed


def decide_complete(state: PairingRound | None, completed: PairingRoundCompleted) -> list[DomainEvent]:
    """Complete a running round with the outcome `conclude_round` computed."""
    round_ = _running(state)
    if completed.round_id != round_.round_id:
        raise ValueError("the outcome belongs to another round")
    return [completed]


def decide_fail(state: PairingRound | None, reason: str, *, now: datetime) -> list[DomainEvent]:
    """Fail a running round; a round that already ended stays as it is."""
    if state is None:
        raise NotFound("no such round")
    if state.status is not RoundStatus.RUNNING:
        return []
    return [PairingRoundFailed(round_id=state.round_id, program_id=state.program_id, reason=reason, failed_at=now)]


def evolve_round(state: PairingRound | None, event: DomainEvent) -> PairingRound:
    """The round after `event`. Raises `TypeError` on an event that is not a round's."""
    if isinstance(event, PairingRoundStarted):
        return PairingRound(
            round_id=event.round_id,
            program_id=event.program_id,
            kind=event.kind,
            status=RoundStatus.RUNNING,
            reference_week=event.reference_week,
            session_minutes=event.session_minutes,
            settings=event.settings,
            started_at=event.started_at,
            rotate_due_by=event.rotate_due_by,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before PairingRoundStarted")
    match event:
        case PairingRoundCompleted():
            return replace(state, status=RoundStatus.COMPLETED)
        case PairingRoundFailed():
            return replace(state, status=RoundStatus.FAILED)
    raise TypeError(f"not a round event: {type(event).__name__}")


def replay_round(events: Iterable[DomainEvent], state: PairingRound | None = None) -> PairingRound | None:
    """Fold `events` into `state` (from nothing by default): `None` if there were none."""
    return reduce(evolve_round, events, state)
