"""What reporting reads of the four services' topics: tolerant readers, never the producers' models.

`SOURCES` names each source service with its topic, readers and the types it knowingly ignores;
the subscriptions and the projection are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tandem_kernel.events import EventRegistry

from tandem_reporting.consumed.enrollment import ENROLLMENT_IGNORED_TYPES, ENROLLMENT_TOPIC, enrollment_registry
from tandem_reporting.consumed.evaluation import EVALUATION_IGNORED_TYPES, EVALUATION_TOPIC, evaluation_registry
from tandem_reporting.consumed.pairing import PAIRING_IGNORED_TYPES, PAIRING_TOPIC, pairing_registry
from tandem_reporting.consumed.sessions import SESSIONS_IGNORED_TYPES, SESSIONS_TOPIC, sessions_registry

__all__ = ["SOURCES", "Source", "source_of"]


@dataclass(frozen=True)
class Source:
    """A service whose topic reporting follows."""

    service: str
    topic: str
    registry: EventRegistry
    ignored_types: frozenset[str]

    @property
    def subscription(self) -> str:
        """The consumer's name (its Kafka group and inbox name)."""
        return f"reporting.{self.service}"


SOURCES: tuple[Source, ...] = (
    Source("enrollment", ENROLLMENT_TOPIC, enrollment_registry(), ENROLLMENT_IGNORED_TYPES),
    Source("pairing", PAIRING_TOPIC, pairing_registry(), PAIRING_IGNORED_TYPES),
    Source("sessions", SESSIONS_TOPIC, sessions_registry(), SESSIONS_IGNORED_TYPES),
    Source("evaluation", EVALUATION_TOPIC, evaluation_registry(), EVALUATION_IGNORED_TYPES),
)


def source_of(event_type: str) -> str:
    """The service an event type comes from: `sessions.SessionHeld` → `sessions`."""
    return event_type.partition(".")[0]
