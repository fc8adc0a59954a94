"""Invitations by e-mail: each new, moved or cancelled session becomes an iMIP message to both people
(METHOD:REQUEST, then updates with a higher SEQUENCE, METHOD:CANCEL), so it lands in their calendars
as a real meeting request.

A subscription to sessions' own topic sends them once the change is committed and published; a
redelivered event sends the same message again, which calendars absorb (same UID and SEQUENCE).
Each person's copy is written in their own time zone; addresses come from their employee id
(`SESSIONS_MAIL_ADDRESS`), since their e-mail stays sealed in enrollment.
"""

from __future__ import annotations

import logging
from datetime import datetime

import asyncpg
from tandem_kernel.consumers import EventHandler, Subscription
from tandem_kernel.events import DomainEvent, EventEnvelope, EventRegistry
from tandem_kernel.settings import service_topic

from tandem_sessions.adapters import calendars, directory, ledger
from tandem_sessions.adapters.mail import Outbox, imip_message
from tandem_sessions.domain.events import (
    SESSIONS_EVENTS,
    SessionCancelled,
    SessionEvent,
    SessionRescheduled,
    SessionScheduled,
)
from tandem_sessions.settings import InvitationSettings

__all__ = ["invitations_subscription"]

log = logging.getLogger("tandem.sessions.invitations")

_CHANGES = (SessionScheduled, SessionRescheduled, SessionCancelled)


def invitations_subscription(settings: InvitationSettings) -> Subscription:
    """The consumer of sessions' own topic that mails invitations (when mail is configured)."""
    outbox = Outbox(settings)

    async def invite(envelope: EventEnvelope, connection: asyncpg.Connection) -> None:
        event = envelope.payload
        assert isinstance(event, SessionEvent)
        row = await ledger.session_row(connection, event.session_id)
        if row is None:
            return
        # The ledger may be ahead of this event (a later change is on its way): send what the
        # event says happened, with the ledger's times when they agree.
        sequence = getattr(event, "sequence", 0)
        if row["sequence"] > sequence:
            return  # a later change supersedes this one; its own message follows
        people = await directory.load_people(connection, [event.junior_id, event.senior_id])
        addresses = {pid: settings.mail_address.format(employee_id=p.employee_id) for pid, p in people.items()}
        for participant_id, profile in people.items():
            if not profile.fields:
                continue  # erased: nobody to invite
            ical = calendars.invitation(
                row,
                profile.person().time_zone,
                organizer=settings.mail_from,
                attendees=list(addresses.values()),
                now=envelope.occurred_at,
            )
            cancelled = isinstance(event, SessionCancelled)
            message = imip_message(
                sender=settings.mail_from,
                to=[addresses[participant_id]],
                subject=_subject(event, row["starts_at"], cancelled),
                method="CANCEL" if cancelled else "REQUEST",
                ical=ical,
            )
            await outbox.send(message, name=f"{event.session_id}-{sequence}-{participant_id}")

    handlers: dict[type[DomainEvent], EventHandler] = dict.fromkeys(_CHANGES, invite)
    ignored = frozenset(model.event_type for model in SESSIONS_EVENTS if model not in _CHANGES)
    return Subscription(
        "sessions.invitations",
        (service_topic("sessions"),),
        EventRegistry(SESSIONS_EVENTS),
        handlers,
        ignored_types=ignored,
        in_batches=False,  # a batch rolled back after its mails went out would send them again
    )


def _subject(event: DomainEvent, starts_at: datetime, cancelled: bool) -> str:
    when = starts_at.strftime("%Y-%m-%d %H:%M UTC")
    if cancelled:
        return f"Cancelled: Tandem session ({when})"
    if isinstance(event, SessionRescheduled):
        return f"Moved: Tandem session ({when})"
    return f"Invitation: Tandem session ({when})"
