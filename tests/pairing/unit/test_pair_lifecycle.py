"""A proposal's life: answers from both sides, activation, decline, reminder, expiry, departures, the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent
from tandem_pairing.domain import Pairing, Role
from tandem_pairing.domain.events import (
    DeclineReason,
    EndReason,
    PairActivated,
    PairEnded,
    ProposalAccepted,
    ProposalDeclined,
    ProposalExpired,
    ProposalReminderDue,
    ProposalWithdrawn,
    ScoreBreakdown,
    WithdrawalReason,
)
from tandem_pairing.domain.pair import (
    Pair,
    PairStatus,
    add_months,
    decide_accept,
    decide_decline,
    decide_end,
    decide_expire,
    decide_participant_left,
    decide_program_closed,
    decide_remind,
    decide_rotate,
    propose,
    replay_pair,
)

JUNIOR, SENIOR, STRANGER = UUID(int=1), UUID(int=2), UUID(int=3)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BREAKDOWN = ScoreBreakdown(
    junior_teaches=20, senior_teaches=10, shared_objectives=5, different_departments=10, site=0, availability=15,
    meeting_mode=10,
)  # fmt: skip


def proposed(expiry_days: int = 7, rotation_months: int = 3) -> Pair:
    event = propose(
        UUID(int=10),
        UUID(int=20),
        UUID(int=30),
        Pairing(JUNIOR, SENIOR, 70.0),
        BREAKDOWN,
        now=NOW,
        expiry_days=expiry_days,
        rotation_months=rotation_months,
    )
    pair = replay_pair([event])
    assert pair is not None
    return pair


def then(pair: Pair, events: list[DomainEvent]) -> Pair:
    after = replay_pair(events, pair)
    assert after is not None
    return after


def active() -> Pair:
    pair = proposed()
    pair = then(pair, decide_accept(pair, JUNIOR, now=NOW))
    return then(pair, decide_accept(pair, SENIOR, now=NOW + timedelta(hours=1)))


def test_a_proposal_expires_after_the_programs_days_and_reminds_a_day_before() -> None:
    pair = proposed(expiry_days=7)

    assert pair.status is PairStatus.PROPOSED
    assert pair.expires_at == NOW + timedelta(days=7)
    assert pair.remind_at == NOW + timedelta(days=6)
    assert proposed(expiry_days=1).remind_at == NOW + timedelta(hours=12)  # never before halfway


def test_one_acceptance_waits_for_the_other_and_the_second_activates_the_pair() -> None:
    pair = proposed(rotation_months=3)

    first = decide_accept(pair, SENIOR, now=NOW)
    assert [type(e) for e in first] == [ProposalAccepted]
    pair = then(pair, first)
    assert pair.waiting_for == (JUNIOR,)

    second = decide_accept(pair, JUNIOR, now=NOW + timedelta(days=1))
    assert [type(e) for e in second] == [ProposalAccepted, PairActivated]
    activated = second[1]
    assert isinstance(activated, PairActivated)
    assert activated.rotation_due_at == datetime(2026, 6, 3, 9, 0, tzinfo=UTC)
    assert then(pair, second).status is PairStatus.ACTIVE


def test_accepting_twice_changes_nothing() -> None:
    pair = then(proposed(), decide_accept(proposed(), JUNIOR, now=NOW))

    assert decide_accept(pair, JUNIOR, now=NOW) == []
    assert decide_accept(active(), SENIOR, now=NOW) == []


def test_only_the_two_people_of_a_proposal_can_answer_it() -> None:
    with pytest.raises(DomainError) as refused:
        decide_accept(proposed(), STRANGER, now=NOW)

    assert refused.value.field == "participant_id"
    assert refused.value.status == 422


def test_a_decline_ends_the_proposal_for_both_even_after_one_accepted() -> None:
    pair = then(proposed(), decide_accept(proposed(), JUNIOR, now=NOW))

    events = decide_decline(pair, SENIOR, DeclineReason.NO_TIME, now=NOW)

    assert events == [
        ProposalDeclined(**pair.identity(), participant_id=SENIOR, role=Role.SENIOR, reason=DeclineReason.NO_TIME)
    ]
    declined = then(pair, events)
    assert declined.status is PairStatus.DECLINED
    with pytest.raises(InvalidTransition):
        decide_accept(declined, SENIOR, now=NOW)


def test_an_answer_after_the_deadline_is_refused_even_before_the_expiry_is_recorded() -> None:
    pair = proposed(expiry_days=7)

    with pytest.raises(InvalidTransition, match="expired"):
        decide_accept(pair, JUNIOR, now=NOW + timedelta(days=7))
    with pytest.raises(InvalidTransition):
        decide_decline(pair, JUNIOR, DeclineReason.OTHER, now=NOW + timedelta(days=8))


def test_the_reminder_comes_once_naming_who_has_not_answered() -> None:
    pair = then(proposed(), decide_accept(proposed(), SENIOR, now=NOW))

    assert decide_remind(pair, now=NOW + timedelta(days=5)) == []
    reminder = decide_remind(pair, now=NOW + timedelta(days=6))
    assert [type(e) for e in reminder] == [ProposalReminderDue]
    assert reminder[0].waiting_for == (JUNIOR,)  # type: ignore[attr-defined]
    assert decide_remind(then(pair, reminder), now=NOW + timedelta(days=6, hours=1)) == []


def test_an_unanswered_proposal_expires_at_its_deadline_and_not_before() -> None:
    pair = proposed()

    assert decide_expire(pair, now=NOW + timedelta(days=6)) == []
    expired = decide_expire(pair, now=NOW + timedelta(days=7))
    assert expired == [ProposalExpired(**pair.identity(), unanswered=(JUNIOR, SENIOR))]
    after = then(pair, expired)
    assert after.status is PairStatus.EXPIRED
    assert decide_expire(after, now=NOW + timedelta(days=8)) == []
    with pytest.raises(InvalidTransition):
        decide_accept(after, JUNIOR, now=NOW + timedelta(days=8))


def test_an_active_pair_ends_for_a_reason_and_a_proposal_cannot_be_ended() -> None:
    ended = decide_end(active(), EndReason.NOT_A_GOOD_FIT, now=NOW)

    assert [type(e) for e in ended] == [PairEnded]
    assert then(active(), ended).status is PairStatus.ENDED
    with pytest.raises(InvalidTransition):
        decide_end(proposed(), EndReason.NOT_A_GOOD_FIT, now=NOW)
    with pytest.raises(InvalidTransition):
        decide_end(then(active(), ended), EndReason.OTHER, now=NOW)


def test_a_participant_leaving_withdraws_their_proposal_or_ends_their_pair() -> None:
    withdrawn = decide_participant_left(proposed(), SENIOR, now=NOW)
    ended = decide_participant_left(active(), SENIOR, now=NOW)

    assert withdrawn == [
        ProposalWithdrawn(**proposed().identity(), reason=WithdrawalReason.PARTICIPANT_LEFT, left_participant_id=SENIOR)
    ]
    assert isinstance(ended[0], PairEnded)
    assert ended[0].reason is EndReason.PARTICIPANT_LEFT
    assert decide_participant_left(then(active(), ended), SENIOR, now=NOW) == []


def test_a_closed_program_withdraws_proposals_and_ends_pairs() -> None:
    assert decide_program_closed(proposed(), now=NOW)[0].reason is WithdrawalReason.PROGRAM_CLOSED  # type: ignore[attr-defined]
    assert decide_program_closed(active(), now=NOW)[0].reason is EndReason.PROGRAM_CLOSED  # type: ignore[attr-defined]


def test_rotation_ends_active_pairs_only() -> None:
    assert decide_rotate(active(), now=NOW)[0].reason is EndReason.ROTATED  # type: ignore[attr-defined]
    assert decide_rotate(proposed(), now=NOW) == []


def test_unknown_pairs_are_not_found() -> None:
    with pytest.raises(NotFound):
        decide_accept(None, JUNIOR, now=NOW)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2026, 11, 15, tzinfo=UTC), 3, datetime(2027, 2, 15, tzinfo=UTC)),
        (datetime(2027, 12, 31, tzinfo=UTC), 2, datetime(2028, 2, 29, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected
