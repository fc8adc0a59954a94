"""Tolerant readers of the pairing events sessions reacts to (topic `tandem.pairing.v1`): a pair
becomes active (plan its sessions), ends (cancel its future ones), or breaks a hard rule (flag it).
A contract test holds them to `services/pairing/contracts/events.schema.json`.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

__all__ = [
    "PAIRING_IGNORED_TYPES",
    "PAIRING_READERS",
    "PAIRING_TOPIC",
    "PairActivated",
    "PairBecameInfeasible",
    "PairEnded",
    "pairing_registry",
]

PAIRING_TOPIC = service_topic("pairing")


class _PairReader(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class PairActivated(_PairReader, type="pairing.PairActivated", version=1):
    activated_at: datetime
    rotation_due_at: datetime


class PairEnded(_PairReader, type="pairing.PairEnded", version=1):
    ended_at: datetime


class PairBecameInfeasible(_PairReader, type="pairing.PairBecameInfeasible", version=1):
    detected_at: datetime


PAIRING_READERS: tuple[type[DomainEvent], ...] = (PairActivated, PairEnded, PairBecameInfeasible)

PAIRING_IGNORED_TYPES = frozenset(
    {
        "pairing.PairingRoundStarted",
        "pairing.PairingRoundCompleted",
        "pairing.PairingRoundFailed",
        "pairing.PairProposed",
        "pairing.ProposalAccepted",
        "pairing.ProposalDeclined",
        "pairing.ProposalExpired",
        "pairing.ProposalReminderDue",
        "pairing.ProposalWithdrawn",
        "pairing.PairingSettingsChanged",
        "pairing.PairPinned",
        "pairing.PinRemoved",
        "pairing.PairForbidden",
        "pairing.ForbiddenPairAllowed",
    }
)
"""Pairing event types sessions chooses not to read: only active pairs have sessions."""


def pairing_registry() -> EventRegistry:
    """Decodes what sessions reads of the pairing topic."""
    return EventRegistry(PAIRING_READERS)
