"""Tolerant readers of the pairing events evaluation uses (topic `tandem.pairing.v1`): a pair's
activation and end (its tandem's timeline), and who a round left without a partner (the comparison
group). A contract test holds them to pairing's published schema.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

__all__ = [
    "PAIRING_IGNORED_TYPES",
    "PAIRING_READERS",
    "PAIRING_TOPIC",
    "PairActivated",
    "PairEnded",
    "PairingRoundCompleted",
    "pairing_registry",
]

PAIRING_TOPIC = service_topic("pairing")


class _Reader(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _PairEvent(_Reader):
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class PairActivated(_PairEvent, type="pairing.PairActivated", version=1):
    activated_at: datetime
    rotation_due_at: datetime


class PairEnded(_PairEvent, type="pairing.PairEnded", version=1):
    ended_at: datetime


class Unmatched(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    participant_id: UUID


class PairingRoundCompleted(_Reader, type="pairing.PairingRoundCompleted", version=1):
    program_id: UUID
    unmatched: tuple[Unmatched, ...] = ()


PAIRING_READERS: tuple[type[DomainEvent], ...] = (PairActivated, PairEnded, PairingRoundCompleted)

PAIRING_IGNORED_TYPES = frozenset(
    {
        "pairing.PairingSettingsChanged",
        "pairing.PairPinned",
        "pairing.PinRemoved",
        "pairing.PairForbidden",
        "pairing.ForbiddenPairAllowed",
        "pairing.PairingRoundStarted",
        "pairing.PairingRoundFailed",
        "pairing.PairProposed",
        "pairing.ProposalAccepted",
        "pairing.ProposalDeclined",
        "pairing.ProposalReminderDue",
        "pairing.ProposalExpired",
        "pairing.ProposalWithdrawn",
        "pairing.PairBecameInfeasible",
    }
)
"""Pairing event types evaluation chooses not to read."""


def pairing_registry() -> EventRegistry:
    return EventRegistry(PAIRING_READERS)
