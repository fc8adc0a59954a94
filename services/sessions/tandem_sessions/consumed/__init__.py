"""What sessions reads of other services' events: tolerant readers, never the producers' own models."""

from tandem_sessions.consumed import enrollment, pairing

__all__ = ["enrollment", "pairing"]
