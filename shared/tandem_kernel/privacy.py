"""Personal data in events, kept erasable by crypto-shredding.

A field typed `Personal[str]` holds personal data of the event's data subject (see
`DomainEvent.data_subject`). The store encrypts such fields with the subject's own key before they
reach PostgreSQL or Kafka; erasing the subject deletes the key, after which every stored and
published copy is unreadable while ids and counts stay intact.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

__all__ = ["PERSONAL", "Personal"]

T = TypeVar("T")


class _PersonalMarker:
    def __repr__(self) -> str:
        return "PERSONAL"


PERSONAL = _PersonalMarker()

Personal = Annotated[T, PERSONAL]
