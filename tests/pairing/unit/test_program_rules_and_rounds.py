"""A program's pairing settings, pins and forbids; a round from start to its proposals and completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest
from pairing.unit.pools import junior, senior
from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_pairing.domain import match_round
from tandem_pairing.domain.events import (
    PairingRoundCompleted,
    PairingRoundStarted,
    PairPinned,
    ProgramPairingSettings,
    RoundKind,
    UnmatchedReason,
    Weights,
)
from tandem_pairing.domain.pairing_round import (
    RoundStatus,
    conclude_round,
    decide_complete,
    decide_fail,
    pair_id_for,
    replay_round,
    start_round,
)
from tandem_pairing.domain.program_rules import (
    ProgramRules,
    ProgramTerms,
    decide_allow,
    decide_change_settings,
    decide_forbid,
    decide_pin,
    decide_unpin,
    effective_settings,
    monday_of,
    replay_rules,
    scoring_settings,
)

PROGRAM = UUID(int=100)
J, S = UUID(int=1), UUID(int=2)
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)  # a Wednesday
TERMS = ProgramTerms(PROGRAM, session_minutes=45, rotation_months=6, proposal_expiry_days=7)


def test_settings_left_unset_take_the_programs_terms() -> None:
    mine = ProgramPairingSettings(rotation_months=3)

    effective = effective_settings(mine, TERMS)

    assert (effective.rotation_months, effective.proposal_expiry_days) == (3, 7)


def test_weights_that_leave_nothing_to_earn_are_refused_with_their_field() -> None:
    nothing = ProgramPairingSettings(weights=Weights(**dict.fromkeys(Weights.model_fields, 0.0)))

    with pytest.raises(DomainError) as refused:
        decide_change_settings(None, PROGRAM, nothing)
    assert refused.value.field == "weights"


def test_the_same_settings_again_change_nothing() -> None:
    changed = decide_change_settings(None, PROGRAM, ProgramPairingSettings(senior_capacity=2))
    rules = replay_rules(changed)

    assert decide_change_settings(rules, PROGRAM, ProgramPairingSettings(senior_capacity=2)) == []


def test_a_pair_is_pinned_or_forbidden_never_both() -> None:
    pinned = replay_rules(decide_pin(None, PROGRAM, J, S))
    assert pinned is not None and pinned.pins == {(J, S)}
    assert decide_pin(pinned, PROGRAM, J, S) == []
    with pytest.raises(InvalidTransition):
        decide_forbid(pinned, PROGRAM, J, S)

    unpinned = replay_rules(decide_unpin(pinned, PROGRAM, J, S), pinned)
    forbidden = replay_rules(decide_forbid(unpinned, PROGRAM, J, S), unpinned)
    assert forbidden is not None and forbidden.forbidden == {(J, S)} and not forbidden.pins
    with pytest.raises(InvalidTransition):
        decide_pin(forbidden, PROGRAM, J, S)
    assert replay_rules(decide_allow(forbidden, PROGRAM, J, S), forbidden) == ProgramRules(PROGRAM)


def test_removing_what_is_not_there_is_not_found() -> None:
    with pytest.raises(NotFound):
        decide_unpin(None, PROGRAM, J, S)
    with pytest.raises(NotFound):
        decide_allow(None, PROGRAM, J, S)
    with pytest.raises(DomainError):
        decide_pin(None, PROGRAM, J, J)


def test_a_round_pairs_under_this_weeks_clock_and_the_effective_settings() -> None:
    started = start_round(
        UUID(int=7), PROGRAM, RoundKind.FULL, settings=effective_settings(ProgramPairingSettings(), TERMS),
        session_minutes=45, now=NOW,
    )  # fmt: skip

    assert started.reference_week == date(2026, 3, 2) == monday_of(NOW)
    assert started.rotate_due_by is None
    with pytest.raises(ValueError, match="effective"):
        start_round(
            UUID(int=7), PROGRAM, RoundKind.FULL, settings=ProgramPairingSettings(), session_minutes=45, now=NOW
        )


def _started(kind: RoundKind = RoundKind.FULL) -> PairingRoundStarted:
    settings = effective_settings(ProgramPairingSettings(), TERMS)
    return start_round(UUID(int=7), PROGRAM, kind, settings=settings, session_minutes=45, now=NOW)


def test_a_round_concludes_with_a_proposal_per_pairing_each_with_its_breakdown() -> None:
    people = [junior(languages=frozenset({"fr"})), senior(languages=frozenset({"fr"})), junior(), senior()]
    pool = {c.participant_id: c for c in people}
    round_ = replay_round([_started()])
    assert round_ is not None
    result = match_round(people, scoring_settings(round_.settings, 45, round_.reference_week))

    proposals, completed = conclude_round(round_, result, pool, now=NOW)

    assert len(proposals) == completed.matched == 2
    for proposal, pairing in zip(proposals, result.pairings, strict=True):
        assert proposal.pair_id == pair_id_for(round_.round_id, pairing.junior_id, pairing.senior_id)
        assert sum(proposal.breakdown.model_dump().values()) == pytest.approx(proposal.score, abs=1e-3)
        assert proposal.expires_at == NOW + timedelta(days=7)
        assert proposal.rotation_months == 6
    assert completed.unmatched == ()
    assert replay_round(decide_complete(round_, completed), round_).status is RoundStatus.COMPLETED  # type: ignore[union-attr]


def test_people_who_left_during_the_round_lose_their_pair_and_their_partner_is_told_why() -> None:
    j, s = junior(), senior()
    round_ = replay_round([_started()])
    assert round_ is not None
    result = match_round([j, s], scoring_settings(round_.settings, 45, round_.reference_week))

    proposals, completed = conclude_round(round_, result, {j.participant_id: j, s.participant_id: s}, now=NOW,
                                          gone={s.participant_id})  # fmt: skip

    assert proposals == []
    assert [(u.participant_id, u.reason) for u in completed.unmatched] == [
        (j.participant_id, UnmatchedReason.PARTNER_LEFT)
    ]


def test_a_finished_round_cannot_complete_again_and_failing_it_changes_nothing() -> None:
    round_ = replay_round([_started()])
    completed = PairingRoundCompleted(
        round_id=UUID(int=7), program_id=PROGRAM, kind=RoundKind.FULL, pool_size=0, matched=0, unmatched_count=0,
        unmatched=(), total_score=0.0, completed_at=NOW,
    )  # fmt: skip
    done = replay_round(decide_complete(round_, completed), round_)

    with pytest.raises(InvalidTransition):
        decide_complete(done, completed)
    assert decide_fail(done, "late", now=NOW) == []
    assert decide_fail(round_, "stopped", now=NOW)[0].reason == "stopped"  # type: ignore[attr-defined]


def test_pins_are_honoured_by_the_round_they_reach() -> None:
    j1, j2, s1, s2 = junior(), junior(), senior(), senior()
    rules = replay_rules([PairPinned(program_id=PROGRAM, junior_id=j1.participant_id, senior_id=s2.participant_id)])
    assert rules is not None
    settings = scoring_settings(effective_settings(rules.settings, TERMS), 45, monday_of(NOW))

    result = match_round([j1, j2, s1, s2], settings, pins=rules.pins)

    assert any(
        p.pinned and (p.junior_id, p.senior_id) == (j1.participant_id, s2.participant_id) for p in result.pairings
    )
