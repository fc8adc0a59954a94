"""Capacity and the waitlist: first come, first served.

A program with a `capacity` approves people until `approved count >= capacity`; after that,
newcomers wait in the order they enrolled. When an approved participant withdraws, the application
asks `admissions` who comes off the waitlist and approves them with `decide_approve`. Waiting is not
being approved: only the `vetted` (HR approved them, or the program approves everyone) are admitted.

>>> early = WaitingParticipant(UUID(int=1), datetime(2026, 3, 2, 9, 0), vetted=True)
>>> late = WaitingParticipant(UUID(int=2), datetime(2026, 3, 2, 9, 5), vetted=True)
>>> admissions([late, early], capacity=10, approved_count=9)
(UUID('00000000-0000-0000-0000-000000000001'),)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from uuid import UUID

__all__ = ["WaitingParticipant", "admissions", "free_places", "has_free_place"]


@dataclass(frozen=True, slots=True)
class WaitingParticipant:
    """Someone on a program's waitlist, as a read model knows them (see `ParticipantWaitlisted`)."""

    participant_id: UUID
    enrolled_at: datetime
    vetted: bool = False


def free_places(capacity: int | None, approved_count: int) -> int | None:
    """How many more people can be approved; `None` when the program has no capacity limit."""
    if capacity is None:
        return None
    return max(capacity - approved_count, 0)


def has_free_place(capacity: int | None, approved_count: int) -> bool:
    """Whether one more person can be approved."""
    places = free_places(capacity, approved_count)
    return places is None or places > 0


def admissions(
    waitlist: Iterable[WaitingParticipant], *, capacity: int | None, approved_count: int
) -> tuple[UUID, ...]:
    """Who to approve from the waitlist now: the earliest enrolled of the vetted, as many as places are free.

    Ties on `enrolled_at` break on the participant id, so every caller picks the same people.
    """
    places = free_places(capacity, approved_count)
    vetted = (waiting for waiting in waitlist if waiting.vetted)
    ordered = sorted(vetted, key=lambda waiting: (waiting.enrolled_at, waiting.participant_id))
    return tuple(waiting.participant_id for waiting in islice(ordered, places))
