"""The kernel's exception tree.

TandemError
├── ConcurrencyError        an append expected another stream version (HTTP 409)
├── UnreadableEvent         stored or received bytes are not a valid event (dead letter)
│   └── UnknownEventType    the type or version is not registered here (dead letter)
├── ConflictingDuplicate    an event id seen before arrived with another body (recorded, skipped)
└── DomainError             a command broke a business rule (HTTP 409 or 422, per subclass)
    ├── NotFound            the addressed aggregate does not exist (HTTP 404)
    └── InvalidTransition   the command is not allowed in the aggregate's state (HTTP 409)
"""

from __future__ import annotations

__all__ = [
    "ConcurrencyError",
    "ConflictingDuplicate",
    "DomainError",
    "InvalidTransition",
    "NotFound",
    "TandemError",
    "UnknownEventType",
    "UnreadableEvent",
]


class TandemError(Exception):
    """Base of every error the kernel and the services raise on purpose."""


class ConcurrencyError(TandemError):
    """Another writer appended to the stream first; reload and decide again."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int | None = None) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        actual = "" if actual_version is None else f", it is at version {actual_version}"
        super().__init__(f"stream {stream_id!r} was expected at version {expected_version}{actual}")


class UnreadableEvent(TandemError):
    """Bytes that cannot become an event: not JSON, wrong shape, or failing its schema."""


class UnknownEventType(UnreadableEvent):
    """An event type or version this process has no model (or upcaster) for."""


class ConflictingDuplicate(TandemError):
    """An event id a consumer handled before arrived again with another body, type or topic."""


class DomainError(TandemError):
    """A command that breaks a business rule. `code` is a stable machine-readable reason."""

    status = 422
    code = "domain-rule"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        self.detail = detail
        self.field = field
        super().__init__(detail)


class NotFound(DomainError):
    status = 404
    code = "not-found"


class InvalidTransition(DomainError):
    status = 409
    code = "invalid-transition"
