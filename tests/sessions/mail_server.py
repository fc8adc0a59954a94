"""A real SMTP server (aiosmtpd) for the tests of invitations, and the settings that point sessions at it.

with smtp_server() as (mailbox, settings), environment(settings):
    ...                                   # start sessions here: it mails to the server
    mailbox.messages                      # what arrived, parsed
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["Mailbox", "environment", "smtp_server"]


class Mailbox:
    """What a real SMTP server (aiosmtpd) received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # aiosmtpd calls it so
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, dict[str, str]]]:
    """A real SMTP server on a free port, and the settings that make sessions send to it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield (
            mailbox,
            {
                "SESSIONS_SMTP_HOST": "127.0.0.1",
                "SESSIONS_SMTP_PORT": str(controller.port),
                "SESSIONS_MAIL_FROM": "tandem@example.com",
                "SESSIONS_MAIL_ADDRESS": "{employee_id}@example.com",
            },
        )
    finally:
        controller.stop()


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
