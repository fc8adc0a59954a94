"""Sessions' own settings, beside the kernel's `ServiceSettings`: how invitations are sent.

    SESSIONS_SMTP_HOST=smtp.example.com SESSIONS_SMTP_PORT=587 SESSIONS_MAIL_FROM=tandem@example.com
    SESSIONS_MAIL_ADDRESS="{employee_id}@example.com"   # how an employee id becomes an address
    SESSIONS_MAIL_DIR=.tandem/mail                      # without SMTP: each message as a .eml file

With neither an SMTP host nor a mail directory, no invitation is sent (the calendar feeds still work).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from tandem_kernel.settings import SECRETS_DIR

__all__ = ["InvitationSettings"]


class InvitationSettings(BaseSettings):
    # The SMTP password, like every secret in a pod, is a file (`sessions_smtp_password`) in the secrets directory.
    model_config = SettingsConfigDict(
        env_prefix="SESSIONS_",
        case_sensitive=False,
        extra="ignore",
        secrets_dir=SECRETS_DIR if SECRETS_DIR.is_dir() else None,
    )

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "tandem-sessions@localhost"
    mail_address: str = Field(
        default="{employee_id}@localhost",
        description="How an employee id becomes their e-mail address ({employee_id} is replaced).",
    )
    mail_dir: str | None = None

    @property
    def enabled(self) -> bool:
        return self.smtp_host is not None or self.mail_dir is not None
