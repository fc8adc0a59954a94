"""Response bodies of pairing's HTTP API (requests are in `bodies`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from tandem_pairing.application.compatibility import Explanation
from tandem_pairing.domain.events import (
    ProgramPairingSettings,
    RejectedPinRecord,
    RoundKind,
    ScoreBreakdown,
    UnmatchedParticipant,
)
from tandem_pairing.domain.pair import Pair
from tandem_pairing.domain.participants import Role
from tandem_pairing.domain.program_rules import ProgramRules, ProgramTerms, effective_settings
from tandem_pairing.entrypoints.bodies import PairRule

__all__ = [
    "CompatibilityPublic",
    "FlaggedPairs",
    "PairPublic",
    "PairRule",
    "ParticipantPairs",
    "PoolPublic",
    "ProposalPublic",
    "RoundAccepted",
    "RoundPage",
    "RoundPublic",
    "RoundSummary",
    "SettingsPublic",
]


class RoundAccepted(BaseModel):
    round_id: UUID
    program_id: UUID
    status: str


class ProposalPublic(BaseModel):
    """A proposal or pair as the read model has it (it follows the events closely, not instantly)."""

    pair_id: UUID
    program_id: UUID
    round_id: UUID
    junior_id: UUID
    senior_id: UUID
    status: str
    score: float
    breakdown: ScoreBreakdown
    pinned: bool
    proposed_at: datetime
    remind_at: datetime
    expires_at: datetime
    junior_accepted_at: datetime | None
    senior_accepted_at: datetime | None
    reminded_at: datetime | None
    activated_at: datetime | None
    rotation_due_at: datetime | None
    closed_at: datetime | None
    closed_by: UUID | None
    reason: str | None
    violations: list[str] = Field(
        description="Hard rules this active pair was found breaking after a profile changed (flagged to the admin)."
    )
    infeasible_since: datetime | None


class RoundPublic(BaseModel):
    round_id: UUID
    program_id: UUID
    kind: RoundKind
    status: str
    started_at: datetime
    finished_at: datetime | None
    failure: str | None
    pool_size: int | None
    matched: int | None
    unmatched_count: int | None
    rotated_pairs: int | None
    total_score: float | None
    unmatched: list[UnmatchedParticipant]
    rejected_pins: list[RejectedPinRecord]
    proposals: list[ProposalPublic]
    next_after: UUID | None

    @classmethod
    def of(cls, row: dict[str, Any], proposals: list[dict[str, Any]], limit: int) -> RoundPublic:
        page = [ProposalPublic.model_validate(p) for p in proposals]
        next_after = page[-1].pair_id if len(page) == limit else None
        return cls.model_validate({**row, "proposals": page, "next_after": next_after})


class RoundSummary(BaseModel):
    """A round in a program's list of rounds: its outcome, without its proposals."""

    round_id: UUID
    program_id: UUID
    kind: RoundKind
    status: str
    started_at: datetime
    finished_at: datetime | None
    failure: str | None
    pool_size: int | None
    matched: int | None
    unmatched_count: int | None
    rotated_pairs: int | None
    total_score: float | None


class RoundPage(BaseModel):
    items: list[RoundSummary]
    next_cursor: str | None


class FlaggedPairs(BaseModel):
    """The program's active pairs that break hard rules since a profile changed: for the admin to act on."""

    program_id: UUID
    items: list[ProposalPublic]


class PairPublic(BaseModel):
    """A proposal or pair as its stream stands right after a command."""

    pair_id: UUID
    program_id: UUID
    round_id: UUID
    junior_id: UUID
    senior_id: UUID
    status: str
    score: float
    accepted_by: list[UUID]
    waiting_for: list[UUID]
    expires_at: datetime
    activated_at: datetime | None
    rotation_due_at: datetime | None
    reason: str | None
    infeasible: list[str]

    @classmethod
    def of(cls, pair: Pair) -> PairPublic:
        return cls(
            pair_id=pair.pair_id,
            program_id=pair.program_id,
            round_id=pair.round_id,
            junior_id=pair.junior_id,
            senior_id=pair.senior_id,
            status=pair.status.value,
            score=pair.score,
            accepted_by=sorted(pair.accepted),
            waiting_for=list(pair.waiting_for),
            expires_at=pair.expires_at,
            activated_at=pair.activated_at,
            rotation_due_at=pair.rotation_due_at,
            reason=pair.reason,
            infeasible=list(pair.infeasible),
        )


class ParticipantPairs(BaseModel):
    participant_id: UUID
    current: list[ProposalPublic]
    past: list[ProposalPublic]


class SettingsPublic(BaseModel):
    """The settings as HR set them (`None`: the program's own term), and in effect."""

    program_id: UUID
    settings: ProgramPairingSettings
    effective: ProgramPairingSettings
    session_minutes: int
    pins: list[PairRule]
    forbidden_pairs: list[PairRule]

    @classmethod
    def of(cls, rules: ProgramRules, terms: ProgramTerms) -> SettingsPublic:
        return cls(
            program_id=rules.program_id,
            settings=rules.settings,
            effective=effective_settings(rules.settings, terms),
            session_minutes=terms.session_minutes,
            pins=[PairRule(junior_id=j, senior_id=s) for j, s in sorted(rules.pins)],
            forbidden_pairs=[PairRule(junior_id=j, senior_id=s) for j, s in sorted(rules.forbidden)],
        )


class PoolCounts(BaseModel):
    """Participants of one role by status, in enrollment's words; only the approved are paired."""

    applied: int
    approved: int
    waitlisted: int
    withdrawn: int


class PoolPublic(BaseModel):
    """The program's pool as pairing knows it: participants by role and status (approved: in the pool)."""

    program_id: UUID
    closed: bool
    juniors: PoolCounts
    seniors: PoolCounts


class SkillMatchPublic(BaseModel):
    skill: str
    offered_level: int
    wanted_level: int
    value: int


class BasisPublic(BaseModel):
    """What the pair was assessed against: `next_round` (never proposed to each other: the program's
    rules now) or `proposal` (the rules their latest proposal was made under: the round's settings and
    week, HR's forbidden pairs then, earlier partnerships). Profiles are always as they are now."""

    kind: Literal["next_round", "proposal"]
    as_of: datetime
    pair_id: UUID | None
    round_id: UUID | None
    pair_status: str | None


class CompatibilityPublic(BaseModel):
    """Why this junior and senior are (not) a good match, and against which rules (`basis`)."""

    program_id: UUID
    junior_id: UUID
    senior_id: UUID
    score: float
    feasible: bool
    breakdown: ScoreBreakdown
    violations: list[str]
    forbidden_because: list[str]
    shared_languages: list[str]
    overlap_minutes: int
    junior_teaches: list[SkillMatchPublic]
    senior_teaches: list[SkillMatchPublic]
    shared_objectives: list[str]
    different_departments: bool
    same_site: bool
    meeting_modes: list[str]
    junior_in_pool: bool
    senior_in_pool: bool
    basis: BasisPublic

    @classmethod
    def of(cls, program_id: UUID, explanation: Explanation) -> CompatibilityPublic:
        fit = explanation.compatibility
        return cls(
            program_id=program_id,
            junior_id=fit.junior_id,
            senior_id=fit.senior_id,
            score=round(fit.score, 4),
            feasible=fit.feasible,
            breakdown=fit.points.rounded(),
            violations=[v.value for v in fit.violations],
            forbidden_because=list(explanation.forbidden_because),
            shared_languages=sorted(fit.shared_languages),
            overlap_minutes=fit.overlap_minutes,
            junior_teaches=[SkillMatchPublic(**asdict(m)) for m in fit.junior_teaches],
            senior_teaches=[SkillMatchPublic(**asdict(m)) for m in fit.senior_teaches],
            shared_objectives=sorted(fit.shared_objectives),
            different_departments=fit.different_departments,
            same_site=fit.same_site,
            meeting_modes=sorted(m.value for m in fit.meeting_modes),
            junior_in_pool=explanation.junior_in_pool,
            senior_in_pool=explanation.senior_in_pool,
            basis=BasisPublic.model_validate(asdict(explanation.basis)),
        )


class PoolMembershipPublic(BaseModel):
    """The person in one program's pool: what pairing keeps of their profile (`null` once erased)."""

    participant_id: UUID
    program_id: UUID
    role: Role
    status: str
    profile: dict[str, Any] | None


class PersonPublic(BaseModel):
    """Everything pairing holds about one person, in every program (the right of access)."""

    employee_id: str
    memberships: list[PoolMembershipPublic]
    pairs: list[ProposalPublic]
