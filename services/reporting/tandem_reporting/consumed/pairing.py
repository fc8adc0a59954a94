"""What reporting reads of pairing's events (topic `tandem.pairing.v1`): proposals and their answers,
pairs and their end, and who each round left unmatched. Held to `services/pairing/contracts/`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from tandem_kernel.events import DomainEvent, EventRegistry
from tandem_kernel.settings import service_topic

from tandem_reporting.consumed._reader import Part, Reader

__all__ = [
    "PAIRING_IGNORED_TYPES",
    "PAIRING_READERS",
    "PAIRING_TOPIC",
    "PairActivated",
    "PairEnded",
    "PairProposed",
    "PairingRoundCompleted",
    "ProposalDeclined",
    "ProposalExpired",
    "ProposalWithdrawn",
    "UnmatchedParticipant",
    "pairing_registry",
]

PAIRING_TOPIC = service_topic("pairing")


class _PairEvent(Reader):
    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class PairProposed(_PairEvent, type="pairing.PairProposed", version=1):
    score: float
    proposed_at: datetime


class PairActivated(_PairEvent, type="pairing.PairActivated", version=1):
    activated_at: datetime


class ProposalDeclined(_PairEvent, type="pairing.ProposalDeclined", version=1):
    pass


class ProposalExpired(_PairEvent, type="pairing.ProposalExpired", version=1):
    pass


class ProposalWithdrawn(_PairEvent, type="pairing.ProposalWithdrawn", version=1):
    pass


class PairEnded(_PairEvent, type="pairing.PairEnded", version=1):
    ended_at: datetime


class UnmatchedParticipant(Part):
    participant_id: UUID


class PairingRoundCompleted(Reader, type="pairing.PairingRoundCompleted", version=1):
    """Who this round left without a partner (the match quality of each group)."""

    program_id: UUID
    unmatched: tuple[UnmatchedParticipant, ...] = ()


PAIRING_READERS: tuple[type[DomainEvent], ...] = (
    PairProposed,
    PairActivated,
    ProposalDeclined,
    ProposalExpired,
    ProposalWithdrawn,
    PairEnded,
    PairingRoundCompleted,
)

PAIRING_IGNORED_TYPES = frozenset(
    {
        "pairing.PairingRoundStarted",
        "pairing.PairingRoundFailed",
        "pairing.PairingSettingsChanged",
        "pairing.PairPinned",
        "pairing.PinRemoved",
        "pairing.PairForbidden",
        "pairing.ForbiddenPairAllowed",
        "pairing.ProposalAccepted",  # one side's answer; the pair's activation is what counts
        "pairing.ProposalReminderDue",
        "pairing.PairBecameInfeasible",
    }
)


def pairing_registry() -> EventRegistry:
    return EventRegistry(PAIRING_READERS)
