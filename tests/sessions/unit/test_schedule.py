"""A pair's schedule, decided and folded without I/O: the session lifecycle, late cancellations,
the at-risk rules, reminders, reschedules and the end of the pair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from uuid import UUID, uuid4

import pytest
from tandem_kernel.errors import DomainError, InvalidTransition
from tandem_sessions.domain.events import (
    AtRiskReason,
    CancelReason,
    PairAtRisk,
    PairScheduleClosed,
    SessionCancelled,
    SessionReminderDue,
)
from tandem_sessions.domain.schedule import (
    PairRef,
    PairSchedule,
    SessionStatus,
    decide_accept_reschedule,
    decide_cancel,
    decide_check_risk,
    decide_close,
    decide_held,
    decide_missed,
    decide_plan,
    decide_propose_reschedule,
    decide_remind,
    replay_schedule,
)

JUNIOR, SENIOR = uuid4(), uuid4()
PAIR = PairRef(uuid4(), uuid4(), JUNIOR, SENIOR)
MONDAY = datetime(2027, 1, 4, 9, tzinfo=UTC)
STARTS = [MONDAY + timedelta(days=14 * n) for n in range(4)]
NOW = MONDAY - timedelta(days=3)


def planned() -> tuple[PairSchedule, list[UUID]]:
    ids = [UUID(int=n) for n in range(1, 5)]
    numbers = count()
    events = decide_plan(None, PAIR, STARTS, duration_minutes=45, new_id=lambda: ids[next(numbers)])
    schedule = replay_schedule(events)
    assert schedule is not None
    return schedule, ids


def then(schedule: PairSchedule, events: list[object]) -> PairSchedule:
    after = replay_schedule(events, schedule)  # type: ignore[arg-type]
    assert after is not None
    return after


def test_a_cancellation_is_late_within_a_day_of_the_start_and_counts_as_a_change() -> None:
    schedule, ids = planned()

    [early] = decide_cancel(schedule, ids[0], by=SENIOR, reason=CancelReason.WORKLOAD, now=NOW)
    [late] = decide_cancel(schedule, ids[0], by=SENIOR, reason=CancelReason.WORKLOAD, now=MONDAY - timedelta(hours=3))

    assert isinstance(early, SessionCancelled) and early.late is False and early.sequence == 1
    assert isinstance(late, SessionCancelled) and late.late is True
    cancelled = then(schedule, [early])
    assert cancelled.sessions[ids[0]].status is SessionStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        decide_cancel(cancelled, ids[0], by=SENIOR, reason=CancelReason.WORKLOAD, now=NOW)


def test_the_same_person_cancelling_twice_in_a_row_puts_the_pair_at_risk_once() -> None:
    schedule, ids = planned()
    first = decide_cancel(schedule, ids[0], by=SENIOR, reason=CancelReason.WORKLOAD, now=NOW)
    schedule = then(schedule, first)
    by_the_other = decide_cancel(schedule, ids[1], by=JUNIOR, reason=CancelReason.ILLNESS, now=NOW)
    again = decide_cancel(schedule, ids[1], by=SENIOR, reason=CancelReason.WORKLOAD, now=NOW)

    assert not any(isinstance(e, PairAtRisk) for e in first + by_the_other)
    assert [e.reason for e in again if isinstance(e, PairAtRisk)] == [AtRiskReason.REPEATED_CANCELLATION]
    schedule = then(schedule, again)
    third = decide_cancel(schedule, ids[2], by=SENIOR, reason=CancelReason.WORKLOAD, now=NOW)
    assert not any(isinstance(e, PairAtRisk) for e in third)  # flagged already


def test_a_held_session_clears_the_risk_and_restarts_the_count() -> None:
    schedule, ids = planned()
    schedule = then(schedule, decide_cancel(schedule, ids[0], by=SENIOR, reason=CancelReason.OTHER, now=NOW))
    after_start = STARTS[1] + timedelta(hours=1)
    schedule = then(schedule, decide_held(schedule, ids[1], duration_minutes=40, now=after_start))

    again = decide_cancel(schedule, ids[2], by=SENIOR, reason=CancelReason.OTHER, now=after_start)

    assert not any(isinstance(e, PairAtRisk) for e in again)
    assert schedule.last_held_at == STARTS[1] and schedule.sessions[ids[1]].held_minutes == 40


def test_no_held_session_in_two_cadence_periods_is_a_risk() -> None:
    schedule, _ = planned()
    cadence = timedelta(days=14)

    quiet = decide_check_risk(schedule, now=NOW + cadence, active_since=NOW, cadence=cadence)
    risky = decide_check_risk(schedule, now=NOW + 2 * cadence, active_since=NOW, cadence=cadence)

    assert quiet == []
    assert [e.reason for e in risky if isinstance(e, PairAtRisk)] == [AtRiskReason.NO_HELD_SESSION]
    flagged = then(schedule, risky)
    assert decide_check_risk(flagged, now=NOW + 3 * cadence, active_since=NOW, cadence=cadence) == []


def test_attendance_only_after_the_start_and_a_no_show_names_one_of_the_two() -> None:
    schedule, ids = planned()
    after = STARTS[0] + timedelta(minutes=50)

    with pytest.raises(InvalidTransition):
        decide_held(schedule, ids[0], duration_minutes=45, now=STARTS[0] - timedelta(minutes=1))
    with pytest.raises(DomainError):
        decide_missed(schedule, ids[0], absent=[uuid4()], now=after)
    [missed] = decide_missed(schedule, ids[0], absent=[SENIOR], now=after)
    assert then(schedule, [missed]).sessions[ids[0]].absent == (SENIOR,)


def test_a_reminder_falls_due_once_a_day_ahead() -> None:
    schedule, ids = planned()

    assert decide_remind(schedule, ids[0], now=STARTS[0] - timedelta(hours=25)) == []
    [due] = decide_remind(schedule, ids[0], now=STARTS[0] - timedelta(hours=23))
    assert isinstance(due, SessionReminderDue) and due.starts_at == STARTS[0]
    assert decide_remind(then(schedule, [due]), ids[0], now=STARTS[0] - timedelta(hours=22)) == []


def test_a_reschedule_needs_the_other_ones_answer_and_a_time_that_suits_both() -> None:
    schedule, ids = planned()
    later = STARTS[0] + timedelta(days=1)

    with pytest.raises(InvalidTransition):
        decide_propose_reschedule(schedule, ids[0], by=JUNIOR, starts_at=later, now=NOW, suits=False)
    proposed = then(
        schedule, decide_propose_reschedule(schedule, ids[0], by=JUNIOR, starts_at=later, now=NOW, suits=True)
    )
    with pytest.raises(InvalidTransition):
        decide_accept_reschedule(proposed, ids[0], by=JUNIOR, now=NOW, suits=True)
    moved = then(proposed, decide_accept_reschedule(proposed, ids[0], by=SENIOR, now=NOW, suits=True))
    assert moved.sessions[ids[0]].starts_at == later and moved.sessions[ids[0]].sequence == 1


def test_the_end_of_the_pair_cancels_what_is_to_come_and_closes_the_schedule() -> None:
    schedule, ids = planned()
    between = STARTS[1] + timedelta(hours=2)
    schedule = then(schedule, decide_held(schedule, ids[0], duration_minutes=45, now=between))

    events = decide_close(schedule, PAIR, now=between)

    cancelled = [e.session_id for e in events if isinstance(e, SessionCancelled)]
    assert cancelled == ids[2:]  # the held one stays held; the one that started stays for its outcome
    assert isinstance(events[-1], PairScheduleClosed)
    closed = then(schedule, events)
    assert decide_close(closed, PAIR, now=between) == []
    assert decide_plan(closed, PAIR, [STARTS[3] + timedelta(days=14)], duration_minutes=45, new_id=uuid4) == []
