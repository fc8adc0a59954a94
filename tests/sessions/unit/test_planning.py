"""The slot rules, against an oracle written from the rules themselves (not from the planner):
each planned session, read on each person's own wall clock, starts and ends on one of their working
days, inside one of that weekday's windows, on no public holiday of their country, and overlaps no
other session of either person."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st
from tandem_sessions.domain import Interval, Person, Window, plan
from tandem_sessions.domain.events import AttentionReason

CADENCE = timedelta(days=14)
HOUR = timedelta(hours=1)
WORKDAYS = range(5)


def person(zone: str, country: str, start: str, end: str, days: range | list[int] = WORKDAYS) -> Person:
    opens, closes = time.fromisoformat(start), time.fromisoformat(end)
    return Person(uuid4(), zone, country, tuple(Window(day, opens, closes) for day in days))


def obeys_the_rules(who: Person, start: datetime, duration: timedelta) -> bool:
    """The oracle: wall-clock reading of the session in the person's zone."""
    tz = ZoneInfo(who.time_zone)
    local_start, local_end = start.astimezone(tz), (start + duration).astimezone(tz)
    day = local_start.date()
    if day.weekday() >= 5 or day in holidays.country_holidays(who.country, years=day.year):
        return False
    if (local_end.replace(tzinfo=None) - local_start.replace(tzinfo=None)) != duration:
        return False
    for window in who.availability:
        end_of_window = (
            datetime.combine(day + timedelta(days=1), time(0))
            if window.end == time(0)
            else datetime.combine(day, window.end)
        )
        if (
            window.weekday == day.weekday()
            and datetime.combine(day, window.start) <= local_start.replace(tzinfo=None)
            and local_end.replace(tzinfo=None) <= end_of_window
        ):
            return True
    return False


def test_a_pair_in_one_zone_meets_every_cadence_period_at_the_earliest_common_hour() -> None:
    junior = person("Europe/Paris", "FR", "09:00", "12:00")
    senior = person("Europe/Paris", "FR", "10:00", "17:00")
    base = datetime(2026, 1, 12, tzinfo=UTC)  # a Monday

    outcome = plan(junior, senior, base=base, until=base + 8 * CADENCE, cadence=CADENCE, duration=HOUR)

    assert len(outcome.starts) == 8
    assert outcome.attention is None
    assert outcome.starts[0] == datetime(2026, 1, 12, 9, tzinfo=UTC)  # 10:00 in Paris, winter
    for start in outcome.starts:
        assert obeys_the_rules(junior, start, HOUR) and obeys_the_rules(senior, start, HOUR)


def test_the_utc_hour_follows_daylight_saving_in_one_of_the_two_zones() -> None:
    # Paris moves to summer time on 29 March 2026; Tokyo never does.
    paris = person("Europe/Paris", "FR", "09:00", "10:00")
    tokyo = person("Asia/Tokyo", "JP", "08:00", "20:00")
    base = datetime(2026, 3, 16, tzinfo=UTC)

    outcome = plan(paris, tokyo, base=base, until=base + 3 * CADENCE, cadence=CADENCE, duration=HOUR)

    hours = [start.hour for start in outcome.starts]
    assert hours == [8, 7, 7]  # 09:00 in Paris: 08:00 UTC in winter, 07:00 UTC in summer
    for start in outcome.starts:
        assert start.astimezone(ZoneInfo("Europe/Paris")).hour == 9


def test_zones_across_the_date_line_meet_on_each_ones_working_day() -> None:
    # Auckland is 23 hours ahead of Honolulu in March 2026 (NZ still on daylight time).
    auckland = person("Pacific/Auckland", "NZ", "07:00", "10:00")
    honolulu = person("Pacific/Honolulu", "US", "08:00", "12:00")
    base = datetime(2026, 3, 2, tzinfo=UTC)

    outcome = plan(auckland, honolulu, base=base, until=base + 4 * CADENCE, cadence=CADENCE, duration=HOUR)

    assert outcome.starts
    for start in outcome.starts:
        assert obeys_the_rules(auckland, start, HOUR) and obeys_the_rules(honolulu, start, HOUR)
        # Tuesday to Friday in Auckland is Monday to Thursday in Honolulu: the dates differ.
        assert (
            start.astimezone(ZoneInfo("Pacific/Auckland")).date()
            != start.astimezone(ZoneInfo("Pacific/Honolulu")).date()
        )


def test_a_public_holiday_of_either_country_is_skipped() -> None:
    # 1 and 8 May 2026 (Fridays) are holidays in France, not in the UK; the pair only meets on Fridays.
    paris = person("Europe/Paris", "FR", "10:00", "12:00", days=[4])
    london = person("Europe/London", "GB", "09:00", "11:00", days=[4])
    base = datetime(2026, 5, 1, tzinfo=UTC)

    outcome = plan(paris, london, base=base, until=base + timedelta(days=7), cadence=CADENCE, duration=HOUR)

    assert outcome.starts == ()
    week = timedelta(days=7)
    weekly = plan(paris, london, base=base, until=base + 3 * week, cadence=week, duration=HOUR)
    assert [start.date() for start in weekly.starts] == [date(2026, 5, 15)]
    assert weekly.unplanned_periods == 2


def test_no_session_overlaps_another_session_of_either_person() -> None:
    junior = person("Europe/Berlin", "DE", "09:00", "12:00")
    senior = person("Europe/Berlin", "DE", "09:00", "12:00")
    base = datetime(2026, 2, 2, tzinfo=UTC)
    other_pair = Interval(datetime(2026, 2, 2, 8, tzinfo=UTC), datetime(2026, 2, 2, 9, 30, tzinfo=UTC))

    outcome = plan(junior, senior, base=base, until=base + CADENCE, cadence=CADENCE, duration=HOUR, busy=[other_pair])

    assert outcome.starts == (datetime(2026, 2, 2, 9, 30, tzinfo=UTC),)


def test_availabilities_that_never_meet_need_attention_instead_of_an_impossible_slot() -> None:
    early = person("Europe/Paris", "FR", "07:00", "08:00")
    late = person("America/New_York", "US", "09:00", "10:00")  # 15:00 in Paris
    base = datetime(2026, 2, 2, tzinfo=UTC)

    outcome = plan(early, late, base=base, until=base + 4 * CADENCE, cadence=CADENCE, duration=HOUR)

    assert outcome.starts == ()
    assert outcome.attention is AttentionReason.NO_COMMON_SLOT


def test_a_pair_whose_every_common_slot_is_taken_is_fully_booked() -> None:
    junior = person("Europe/Paris", "FR", "09:00", "10:00", days=[0])
    senior = person("Europe/Paris", "FR", "09:00", "10:00", days=[0])
    base = datetime(2026, 2, 2, tzinfo=UTC)
    taken = [
        Interval(base + timedelta(days=7 * week, hours=8), base + timedelta(days=7 * week, hours=9))
        for week in range(2)
    ]

    outcome = plan(junior, senior, base=base, until=base + CADENCE, cadence=CADENCE, duration=HOUR, busy=taken)

    assert outcome.attention is AttentionReason.FULLY_BOOKED


ZONES = [
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "Pacific/Kiritimati",
    "America/Sao_Paulo",
]
COUNTRY = {
    "Europe/Paris": "FR",
    "Europe/London": "GB",
    "America/New_York": "US",
    "America/Los_Angeles": "US",
    "Asia/Tokyo": "JP",
    "Asia/Kolkata": "IN",
    "Australia/Sydney": "AU",
    "Pacific/Auckland": "NZ",
    "Pacific/Honolulu": "US",
    "Pacific/Kiritimati": "KI",
    "America/Sao_Paulo": "BR",
}


@st.composite
def people(draw: st.DrawFn) -> Person:
    zone = draw(st.sampled_from(ZONES))
    windows = []
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, 22 * 4)) * 15
        length = draw(st.integers(2, 12)) * 15
        end = min(start + length, 24 * 60)
        windows.append(
            Window(
                draw(st.integers(0, 6)),
                time(start // 60, start % 60),
                time(0) if end == 24 * 60 else time(end // 60, end % 60),
            )
        )
    return Person(uuid4(), zone, COUNTRY[zone], tuple(windows))


@settings(max_examples=60, deadline=None)
@given(
    junior=people(),
    senior=people(),
    day=st.dates(date(2026, 1, 1), date(2027, 12, 1)),
    minutes=st.sampled_from([30, 45, 60]),
    busy_hours=st.lists(st.integers(0, 24 * 56), max_size=6),
)
def test_every_planned_session_obeys_both_calendars_and_overlaps_nothing(
    junior: Person, senior: Person, day: date, minutes: int, busy_hours: list[int]
) -> None:
    base = datetime.combine(day, time(0), tzinfo=UTC)
    duration = timedelta(minutes=minutes)
    busy = [Interval(base + timedelta(hours=h), base + timedelta(hours=h, minutes=50)) for h in busy_hours]

    outcome = plan(junior, senior, base=base, until=base + 4 * CADENCE, cadence=CADENCE, duration=duration, busy=busy)

    sessions = [Interval(start, start + duration) for start in outcome.starts]
    for session in sessions:
        assert obeys_the_rules(junior, session.start, duration)
        assert obeys_the_rules(senior, session.start, duration)
        assert not any(session.overlaps(other) for other in busy)
    assert all(not a.overlaps(b) for i, a in enumerate(sessions) for b in sessions[i + 1 :])
    assert len(outcome.starts) + outcome.unplanned_periods == 4
