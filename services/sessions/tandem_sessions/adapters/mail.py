"""Sending invitations: an iMIP message (RFC 6047) through SMTP, or into a directory as .eml files
(development: `make run` keeps them where a person can open them).

    outbox = Outbox.of(settings)
    await outbox.send(message)
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from pathlib import Path

from tandem_sessions.settings import InvitationSettings

__all__ = ["Outbox", "imip_message"]


def imip_message(*, sender: str, to: list[str], subject: str, method: str, ical: bytes) -> EmailMessage:
    """A meeting request (or cancellation) that calendar clients show with accept/decline buttons."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(f"{subject}\n\nThe attached invitation adds it to your calendar.")
    message.add_alternative(ical, maintype="text", subtype="calendar", params={"method": method})
    message.add_attachment(ical, maintype="application", subtype="ics", filename="invite.ics")
    return message


class Outbox:
    """Where invitations go: an SMTP server, a directory, or nowhere."""

    def __init__(self, settings: InvitationSettings) -> None:
        self.settings = settings

    async def send(self, message: EmailMessage, *, name: str) -> None:
        if self.settings.smtp_host is not None:
            await asyncio.to_thread(self._smtp, message)
        elif self.settings.mail_dir is not None:
            await asyncio.to_thread(self._file, message, Path(self.settings.mail_dir) / f"{name}.eml")

    @staticmethod
    def _file(message: EmailMessage, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(message))

    def _smtp(self, message: EmailMessage) -> None:
        settings = self.settings
        assert settings.smtp_host is not None
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)
