"""Weekly availability is compared on one clock: UTC minutes of the reference week, wrapping at Sunday midnight."""

from __future__ import annotations

from datetime import date

from tandem_pairing.domain import MINUTES_PER_WEEK, AvailabilityWindow, overlap_minutes, utc_week_intervals

from .pools import WINTER_WEEK, window

Schedule = tuple[str, list[AvailabilityWindow]]  # a time zone and weekly windows in it


def overlap(first: Schedule, second: Schedule, week: date = WINTER_WEEK) -> int:
    (first_zone, first_windows), (second_zone, second_windows) = first, second
    return overlap_minutes(
        utc_week_intervals(first_windows, first_zone, week), utc_week_intervals(second_windows, second_zone, week)
    )


def test_windows_in_one_zone_overlap_by_the_minutes_they_share() -> None:
    assert (
        overlap(("Europe/Paris", [window(1, "09:00", "12:00")]), ("Europe/Paris", [window(1, "11:15", "14:00")])) == 45
    )


def test_the_same_wall_clock_hours_in_different_zones_are_different_moments() -> None:
    paris = ("Europe/Paris", [window(0, "09:00", "12:00")])  # 08:00-11:00 UTC in winter

    assert overlap(paris, ("Europe/London", [window(0, "09:00", "12:00")])) == 120
    assert overlap(paris, ("Europe/London", [window(0, "08:00", "11:00")])) == 180
    assert overlap(paris, ("America/New_York", [window(0, "09:00", "12:00")])) == 0


def test_an_afternoon_in_paris_meets_a_morning_in_new_york() -> None:
    assert (
        overlap(("Europe/Paris", [window(2, "15:00", "18:00")]), ("America/New_York", [window(2, "09:00", "12:00")]))
        == 180
    )


def test_half_hour_zones_overlap_to_the_minute() -> None:
    # 14:00-15:00 in Pune is 08:30-09:30 UTC, 09:30-10:30 in Paris.
    assert (
        overlap(("Asia/Kolkata", [window(3, "14:00", "15:00")]), ("Europe/Paris", [window(3, "10:00", "12:00")])) == 30
    )


def test_a_window_crossing_sunday_midnight_in_utc_wraps_to_the_start_of_the_week() -> None:
    spans = utc_week_intervals([window(0, "00:30", "02:00")], "Europe/Paris", WINTER_WEEK)

    assert spans == ((0, 60), (MINUTES_PER_WEEK - 30, MINUTES_PER_WEEK))
    assert overlap(("Europe/Paris", [window(0, "00:30", "02:00")]), ("UTC", [window(6, "23:00", "00:00")])) == 30
    assert overlap(("Europe/Paris", [window(0, "00:30", "02:00")]), ("UTC", [window(0, "00:00", "01:00")])) == 60


def test_a_monday_morning_in_auckland_is_a_sunday_evening_in_london() -> None:
    # Auckland is UTC+13 in January: Monday 09:00-11:00 there is Sunday 20:00-22:00 UTC.
    assert (
        overlap(("Pacific/Auckland", [window(0, "09:00", "11:00")]), ("Europe/London", [window(6, "19:00", "21:00")]))
        == 60
    )


def test_daylight_saving_time_is_that_of_the_reference_week() -> None:
    new_york = ("America/New_York", [window(0, "09:00", "10:00")])
    paris = ("Europe/Paris", [window(0, "14:00", "15:00")])

    assert overlap(new_york, paris, date(2026, 3, 2)) == 0  # both on standard time: six hours apart
    assert overlap(new_york, paris, date(2026, 3, 9)) == 60  # New York moved on 8 March, Paris on 29 March


def test_a_persons_own_overlapping_windows_count_once() -> None:
    spans = utc_week_intervals([window(4, "09:00", "11:00"), window(4, "10:00", "12:00")], "UTC", WINTER_WEEK)

    assert spans == ((4 * 1440 + 540, 4 * 1440 + 720),)


def test_an_end_of_midnight_means_the_end_of_the_day() -> None:
    assert window(5, "22:00", "00:00").minutes == 120
