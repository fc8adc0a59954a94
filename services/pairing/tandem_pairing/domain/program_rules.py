"""A program's pairing rules: its settings stream (`pairing-settings-<program id>`) and the program's
terms as enrollment announced them, combined into what a round pairs under.

HR pins pairs (paired in the next round if the pair breaks no hard rule) and forbids others (never
paired in the program). A pair cannot be both: remove one before adding the other.

>>> events = decide_pin(rules, program_id, junior_id, senior_id)
>>> settings = scoring_settings(effective_settings(rules.settings, terms), terms, reference_week=monday)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import reduce
from uuid import UUID

from tandem_kernel.errors import DomainError, InvalidTransition, NotFound
from tandem_kernel.events import DomainEvent

from tandem_pairing.domain.compatibility import PairKey
from tandem_pairing.domain.events import (
    ForbiddenPairAllowed,
    PairForbidden,
    PairingSettingsChanged,
    PairPinned,
    PinRemoved,
    ProgramPairingSettings,
)
from tandem_pairing.domain.settings import PairingSettings

__all__ = [
    "ProgramRules",
    "ProgramTerms",
    "decide_allow",
    "decide_change_settings",
    "decide_forbid",
    "decide_pin",
    "decide_unpin",
    "effective_settings",
    "evolve_rules",
    "monday_of",
    "replay_rules",
    "scoring_settings",
]

_A_MONDAY = date(2026, 1, 5)
DEFAULT_SETTINGS = ProgramPairingSettings()


@dataclass(frozen=True, slots=True)
class ProgramTerms:
    """What enrollment said about a program that pairing needs: its defaults, and whether it is over."""

    program_id: UUID
    session_minutes: int
    rotation_months: int
    proposal_expiry_days: int
    closed: bool = False


@dataclass(frozen=True, slots=True)
class ProgramRules:
    """The state of a program's settings stream; a program without one pairs with the defaults."""

    program_id: UUID
    settings: ProgramPairingSettings = DEFAULT_SETTINGS
    pins: frozenset[PairKey] = frozenset()
    forbidden: frozenset[PairKey] = frozenset()


def effective_settings(settings: ProgramPairingSettings, terms: ProgramTerms) -> ProgramPairingSettings:
    """`settings` with the program's own expiry and rotation period where HR set none."""
    return settings.model_copy(
        update={
            "proposal_expiry_days": settings.proposal_expiry_days or terms.proposal_expiry_days,
            "rotation_months": settings.rotation_months or terms.rotation_months,
        }
    )


def monday_of(moment: datetime | date) -> date:
    """The Monday of the week `moment` falls in: the reference week of a round run then."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def scoring_settings(settings: ProgramPairingSettings, session_minutes: int, reference_week: date) -> PairingSettings:
    """The domain's scoring settings for a round: weights, session length, site rule, reference week."""
    return PairingSettings(
        reference_week=reference_week,
        weights=settings.weights,
        session_minutes=session_minutes,
        site_preference=settings.site_preference,
    )


def _rules(state: ProgramRules | None, program_id: UUID) -> ProgramRules:
    return state if state is not None else ProgramRules(program_id)


def decide_change_settings(
    state: ProgramRules | None, program_id: UUID, settings: ProgramPairingSettings
) -> list[DomainEvent]:
    """Replace the settings; nothing happens if they are the same. Weights must leave some points to earn."""
    try:  # the same check a round makes, made now so HR hears of it and not the next round
        scoring_settings(settings, 45, _A_MONDAY)
    except ValueError as invalid:
        raise DomainError(str(invalid), field="weights") from None
    if _rules(state, program_id).settings == settings:
        return []
    return [PairingSettingsChanged(program_id=program_id, settings=settings)]


def _different_people(junior_id: UUID, senior_id: UUID) -> None:
    if junior_id == senior_id:
        raise DomainError("a pair needs two different participants", field="senior_id")


def decide_pin(state: ProgramRules | None, program_id: UUID, junior_id: UUID, senior_id: UUID) -> list[DomainEvent]:
    """Pin a pair for the next round; pinning it again changes nothing."""
    _different_people(junior_id, senior_id)
    rules = _rules(state, program_id)
    if (junior_id, senior_id) in rules.forbidden:
        raise InvalidTransition("this pair is forbidden: allow it before pinning it")
    if (junior_id, senior_id) in rules.pins:
        return []
    return [PairPinned(program_id=program_id, junior_id=junior_id, senior_id=senior_id)]


def decide_unpin(state: ProgramRules | None, program_id: UUID, junior_id: UUID, senior_id: UUID) -> list[DomainEvent]:
    if (junior_id, senior_id) not in _rules(state, program_id).pins:
        raise NotFound("this pair is not pinned")
    return [PinRemoved(program_id=program_id, junior_id=junior_id, senior_id=senior_id)]


def decide_forbid(state: ProgramRules | None, program_id: UUID, junior_id: UUID, senior_id: UUID) -> list[DomainEvent]:
    """Forbid a pair in the program; forbidding it again changes nothing."""
    _different_people(junior_id, senior_id)
    rules = _rules(state, program_id)
    if (junior_id, senior_id) in rules.pins:
        raise InvalidTransition("this pair is pinned: remove the pin before forbidding it")
    if (junior_id, senior_id) in rules.forbidden:
        return []
    return [PairForbidden(program_id=program_id, junior_id=junior_id, senior_id=senior_id)]


def decide_allow(state: ProgramRules | None, program_id: UUID, junior_id: UUID, senior_id: UUID) -> list[DomainEvent]:
    if (junior_id, senior_id) not in _rules(state, program_id).forbidden:
        raise NotFound("this pair is not forbidden")
    return [ForbiddenPairAllowed(program_id=program_id, junior_id=junior_id, senior_id=senior_id)]


def evolve_rules(state: ProgramRules | None, event: DomainEvent) -> ProgramRules:
    """The rules after `event`. Raises `TypeError` on an event of another stream."""
    match event:
        case PairingSettingsChanged():
            return replace(_rules(state, event.program_id), settings=event.settings)
        case PairPinned():
            rules = _rules(state, event.program_id)
            return replace(rules, pins=rules.pins | {(event.junior_id, event.senior_id)})
        case PinRemoved():
            rules = _rules(state, event.program_id)
            return replace(rules, pins=rules.pins - {(event.junior_id, event.senior_id)})
        case PairForbidden():
            rules = _rules(state, event.program_id)
            return replace(rules, forbidden=rules.forbidden | {(event.junior_id, event.senior_id)})
        case ForbiddenPairAllowed():
            rules = _rules(state, event.program_id)
            return replace(rules, forbidden=rules.forbidden - {(event.junior_id, event.senior_id)})
    raise TypeError(f"not a pairing-settings event: {type(event).__name__}")


def replay_rules(events: Iterable[DomainEvent], state: ProgramRules | None = None) -> ProgramRules | None:
    """Fold `events` into `state` (from nothing by default): `None` if there were none."""
    return reduce(evolve_rules, events, state)
