"""Sessions as iCalendar (RFC 5545): a participant's feed, and iMIP invitations (RFC 6047).

Times are written in the participant's own zone (TZID, with its VTIMEZONE), so calendars show them
on the wall clock the availability was given in. A session keeps one UID for life; SEQUENCE is the
schedule's count of changes (a new time, a cancellation), so a calendar replaces what it holds; a
cancelled session stays in the feed with STATUS:CANCELLED.

    ics = feed("Europe/Paris", rows, now=now, name="Tandem sessions")
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from icalendar import Calendar, Event, vCalAddress

from tandem_sessions.domain.calendar import zone

__all__ = ["PRODID", "event_uid", "feed", "invitation"]

PRODID = "-//Tandem//Sessions//EN"
UID_DOMAIN = "sessions.tandem"


def event_uid(session_id: UUID) -> str:
    """The session's UID, the same in every feed and invitation, for as long as it exists."""
    return f"{session_id}@{UID_DOMAIN}"


def _calendar(method: str | None, name: str | None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    return calendar


def _event(row: dict[str, Any], time_zone: str, now: datetime) -> Event:
    tz = zone(time_zone)
    event = Event()
    event.add("uid", event_uid(row["session_id"]))
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", row["starts_at"].astimezone(tz))
    event.add("dtend", row["ends_at"].astimezone(tz))
    event.add("sequence", row["sequence"])
    event.add("summary", "Tandem session (extra)" if row["extra"] else "Tandem session")
    event.add("status", "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if row["status"] == "cancelled" else "OPAQUE")
    return event


def _with_zones(calendar: Calendar, rows: list[dict[str, Any]]) -> bytes:
    if rows:
        first: date = min(row["starts_at"] for row in rows).date() - timedelta(days=366)
        last: date = max(row["ends_at"] for row in rows).date() + timedelta(days=366)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    ical: bytes = calendar.to_ical()
    return ical


def feed(time_zone: str, rows: Iterable[dict[str, Any]], *, now: datetime, name: str = "Tandem sessions") -> bytes:
    """A participant's feed: every session of theirs (ledger rows), in their zone."""
    calendar = _calendar("PUBLISH", name)
    listed = list(rows)
    for row in listed:
        calendar.add_component(_event(row, time_zone, now))
    return _with_zones(calendar, listed)


def invitation(
    row: dict[str, Any], time_zone: str, *, organizer: str, attendees: Iterable[str], now: datetime
) -> bytes:
    """An iMIP message body: METHOD:REQUEST for a new or moved session, METHOD:CANCEL for a cancelled one."""
    cancelled = row["status"] == "cancelled"
    calendar = _calendar("CANCEL" if cancelled else "REQUEST", None)
    event = _event(row, time_zone, now)
    event.add("organizer", vCalAddress(f"mailto:{organizer}"))
    for address in attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["RSVP"] = "TRUE"
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return _with_zones(calendar, [row])
