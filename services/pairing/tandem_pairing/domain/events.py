"""Everything that happens in pairing, in the past tense.

Three kinds of stream:

- `pairing-settings-<program id>`: how a program pairs (weights, capacities, expiry, rotation) and
  HR's pins and forbidden pairs;
- `round-<round id>`: one matching round, started then completed (or failed);
- `pair-<pair id>`: one proposal and, once both sides accept, the pair it becomes, to its end.

Every pair event names the program, the junior and the senior, so that subscribers (sessions,
reporting, notifications) never call back.

>>> from tandem_kernel.events import EventRegistry
>>> registry = EventRegistry(PAIRING_EVENTS)
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from tandem_kernel.events import DomainEvent

from tandem_pairing.domain.participants import Role
from tandem_pairing.domain.score import ScoreBreakdown, Weights
from tandem_pairing.domain.settings import SitePreference

__all__ = [
    "PAIRING_EVENTS",
    "DeclineReason",
    "EndReason",
    "ForbiddenPairAllowed",
    "PairActivated",
    "PairBecameInfeasible",
    "PairEnded",
    "PairEvent",
    "PairForbidden",
    "PairPinned",
    "PairProposed",
    "PairingRoundCompleted",
    "PairingRoundFailed",
    "PairingRoundStarted",
    "PairingSettingsChanged",
    "PinRemoved",
    "ProgramPairingSettings",
    "ProgramSettingsEvent",
    "ProposalAccepted",
    "ProposalDeclined",
    "ProposalExpired",
    "ProposalReminderDue",
    "ProposalWithdrawn",
    "RejectedPinRecord",
    "RoundEvent",
    "RoundKind",
    "ScoreBreakdown",
    "UnmatchedParticipant",
    "UnmatchedReason",
    "Weights",
    "WithdrawalReason",
]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- values carried by events --------------------------------------------------------------------


class ProgramPairingSettings(_Value):
    """How a program pairs people. `None` for expiry or rotation: the program's own terms apply.

    `senior_capacity` is how many juniors a senior may mentor with at once; `junior_capacity` how
    many seniors a junior may take.
    """

    weights: Weights = Weights()
    junior_capacity: int = Field(default=1, ge=1, le=10)
    senior_capacity: int = Field(default=1, ge=1, le=10)
    site_preference: SitePreference = SitePreference.INDIFFERENT
    proposal_expiry_days: int | None = Field(default=None, ge=1, le=60)
    rotation_months: int | None = Field(default=None, ge=1, le=24)


class RoundKind(StrEnum):
    """`full`: a program's first round, everyone; `incremental`: only people with room for a partner,
    active pairs untouched; `rotation`: active pairs end as rotated, then everyone pairs again."""

    FULL = "full"
    INCREMENTAL = "incremental"
    ROTATION = "rotation"


class UnmatchedReason(StrEnum):
    """Why a participant of the round got no partner."""

    NO_FEASIBLE_PARTNER = "no_feasible_partner"  # every possible partner breaks a hard constraint
    CAPACITY = "capacity"  # someone fitted, but the best overall assignment gave them to others
    PARTNER_LEFT = "partner_left"  # their partner withdrew while the round was computed


class UnmatchedParticipant(_Value):
    participant_id: UUID
    role: Role
    reason: UnmatchedReason


class RejectedPinRecord(_Value):
    """An HR pin the round could not honour (`not_in_pool`, `infeasible`, `over_capacity`)."""

    junior_id: UUID
    senior_id: UUID
    reason: str
    violations: tuple[str, ...] = ()


class DeclineReason(StrEnum):
    """Why someone declined a proposal: a closed list, since free text could carry personal data."""

    NOT_A_GOOD_FIT = "not_a_good_fit"
    NO_TIME = "no_time"
    SCHEDULE_MISMATCH = "schedule_mismatch"
    OTHER = "other"


class WithdrawalReason(StrEnum):
    """Why pairing took back a proposal nobody declined."""

    PARTICIPANT_LEFT = "participant_left"
    PROGRAM_CLOSED = "program_closed"


class EndReason(StrEnum):
    """Why an active pair ended."""

    NOT_A_GOOD_FIT = "not_a_good_fit"
    PARTICIPANT_LEFT = "participant_left"
    PROGRAM_CLOSED = "program_closed"
    ROTATED = "rotated"
    OTHER = "other"


# -- a program's pairing settings ---------------------------------------------------------------


class ProgramSettingsEvent(DomainEvent):
    """Base of the events of a program's pairing-settings stream."""

    program_id: UUID


class PairingSettingsChanged(ProgramSettingsEvent, type="pairing.PairingSettingsChanged", version=1):
    """HR replaced the program's pairing settings; the next round uses them."""

    settings: ProgramPairingSettings


class PairPinned(ProgramSettingsEvent, type="pairing.PairPinned", version=1):
    """HR wants this junior and senior paired in the next round, if the pair breaks no hard rule."""

    junior_id: UUID
    senior_id: UUID


class PinRemoved(ProgramSettingsEvent, type="pairing.PinRemoved", version=1):
    junior_id: UUID
    senior_id: UUID


class PairForbidden(ProgramSettingsEvent, type="pairing.PairForbidden", version=1):
    """HR ruled out this junior and senior as partners in the program."""

    junior_id: UUID
    senior_id: UUID


class ForbiddenPairAllowed(ProgramSettingsEvent, type="pairing.ForbiddenPairAllowed", version=1):
    junior_id: UUID
    senior_id: UUID


# -- rounds ------------------------------------------------------------------------------------


class RoundEvent(DomainEvent):
    """Base of the events of a round's stream."""

    round_id: UUID
    program_id: UUID


class PairingRoundStarted(RoundEvent, type="pairing.PairingRoundStarted", version=1):
    """A round began, with the settings it pairs under: same pool and settings, same pairs.

    A rotation round first ends the active pairs due for rotation by `rotate_due_by` (every active
    pair when it is None: HR rotated the whole program).
    """

    kind: RoundKind
    reference_week: date
    session_minutes: int
    settings: ProgramPairingSettings
    started_at: datetime
    rotate_due_by: datetime | None = None


class PairingRoundCompleted(RoundEvent, type="pairing.PairingRoundCompleted", version=1):
    """The round proposed `matched` pairs (as `PairProposed` events) and left `unmatched` people alone."""

    kind: RoundKind
    pool_size: int
    matched: int
    unmatched_count: int
    unmatched: tuple[UnmatchedParticipant, ...]
    rejected_pins: tuple[RejectedPinRecord, ...] = ()
    rotated_pairs: int = 0
    total_score: float
    completed_at: datetime


class PairingRoundFailed(RoundEvent, type="pairing.PairingRoundFailed", version=1):
    """The round proposed nothing (the program closed meanwhile, or the process stopped)."""

    reason: str
    failed_at: datetime


# -- proposals and pairs -------------------------------------------------------------------------


class PairEvent(DomainEvent):
    """Base of a pair stream's events: which pair, in which program, between whom."""

    pair_id: UUID
    program_id: UUID
    junior_id: UUID
    senior_id: UUID


class PairProposed(PairEvent, type="pairing.PairProposed", version=1):
    """A round proposed this pair; both must accept by `expires_at` (a reminder at `remind_at`).

    Once active, the pair rotates after `rotation_months` (the program's period when proposed).
    """

    round_id: UUID
    score: float
    breakdown: ScoreBreakdown
    pinned: bool = False
    proposed_at: datetime
    remind_at: datetime
    expires_at: datetime
    rotation_months: int


class ProposalAccepted(PairEvent, type="pairing.ProposalAccepted", version=1):
    participant_id: UUID
    role: Role


class ProposalDeclined(PairEvent, type="pairing.ProposalDeclined", version=1):
    """One side said no: the proposal is over, and both can be paired again with someone else."""

    participant_id: UUID
    role: Role
    reason: DeclineReason


class PairActivated(PairEvent, type="pairing.PairActivated", version=1):
    """Both accepted: the tandem is on, until `rotation_due_at` at the latest."""

    activated_at: datetime
    rotation_due_at: datetime


class ProposalReminderDue(PairEvent, type="pairing.ProposalReminderDue", version=1):
    """The proposal expires soon and `waiting_for` have not answered yet: time to remind them."""

    waiting_for: tuple[UUID, ...]
    expires_at: datetime


class ProposalExpired(PairEvent, type="pairing.ProposalExpired", version=1):
    """Nobody declined, but `unanswered` did not accept in time."""

    unanswered: tuple[UUID, ...]


class ProposalWithdrawn(PairEvent, type="pairing.ProposalWithdrawn", version=1):
    """Pairing took the proposal back: a participant left, or the program closed."""

    reason: WithdrawalReason
    left_participant_id: UUID | None = None


class PairEnded(PairEvent, type="pairing.PairEnded", version=1):
    """An active pair ended; the two stay previous partners, never paired again in this program."""

    reason: EndReason
    ended_at: datetime
    left_participant_id: UUID | None = None


class PairBecameInfeasible(PairEvent, type="pairing.PairBecameInfeasible", version=1):
    """An active pair now breaks hard rules (`violations`, as `Violation` values), after a profile
    changed: a manager line appeared, the two no longer share a language or a session's overlap.
    The pair goes on until someone ends it; the program's admin sees it flagged."""

    violations: tuple[str, ...]
    detected_at: datetime


PAIRING_EVENTS: tuple[type[DomainEvent], ...] = (
    PairingSettingsChanged,
    PairPinned,
    PinRemoved,
    PairForbidden,
    ForbiddenPairAllowed,
    PairingRoundStarted,
    PairingRoundCompleted,
    PairingRoundFailed,
    PairProposed,
    ProposalAccepted,
    ProposalDeclined,
    PairActivated,
    ProposalReminderDue,
    ProposalExpired,
    ProposalWithdrawn,
    PairEnded,
    PairBecameInfeasible,
)
"""Every event pairing writes: register them with `EventRegistry(PAIRING_EVENTS)`."""
