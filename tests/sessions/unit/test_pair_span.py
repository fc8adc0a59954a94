"""How long a pair's sessions are planned for: from a day after activation, not before the program
starts, to its rotation date or the program's end, whichever comes first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from tandem_sessions.adapters.directory import ActivePair, ProgramTerms
from tandem_sessions.application.planner import pair_span
from tandem_sessions.domain.schedule import PairRef

ACTIVATED = datetime(2027, 3, 1, 10, tzinfo=UTC)


def pair(rotation_days: int) -> ActivePair:
    ref = PairRef(uuid4(), uuid4(), uuid4(), uuid4())
    return ActivePair(ref, ACTIVATED, ACTIVATED + timedelta(days=rotation_days), "active")


def terms(start: date, end: date) -> ProgramTerms:
    return ProgramTerms(uuid4(), 14, 45, start, end, {}, False)


def test_sessions_start_a_day_after_activation_and_end_at_the_rotation() -> None:
    span = pair_span(pair(90), terms(date(2027, 1, 1), date(2027, 12, 31)))

    assert span.start == ACTIVATED + timedelta(days=1)
    assert span.end == ACTIVATED + timedelta(days=90)


def test_never_before_the_program_starts_nor_after_it_ends() -> None:
    span = pair_span(pair(365), terms(date(2027, 4, 1), date(2027, 6, 30)))

    assert span.start == datetime(2027, 4, 1, tzinfo=UTC)
    assert span.end == datetime(2027, 7, 1, tzinfo=UTC)
