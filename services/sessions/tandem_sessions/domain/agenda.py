"""A session's agenda: items the two work through, drawn from what the pair wants to learn.

The first agenda of a pair is seeded from both people's wanted skills and objectives; each next
agenda starts with the items left open in the previous one. Items are free text: they live in the
service's tables, never in events (only their number travels, in `SessionAgendaUpdated`).

>>> seed_agenda(["ai_assistants"], ["prompting"], ["digital_culture"])
(AgendaItem(text='Senior wants to learn: ai_assistants', done=False), ...)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_ITEMS", "AgendaItem", "carry_over", "seed_agenda"]

MAX_ITEMS = 30


@dataclass(frozen=True, slots=True)
class AgendaItem:
    text: str
    done: bool = False


def seed_agenda(
    senior_wants: Iterable[str], junior_wants: Iterable[str], objectives: Iterable[str]
) -> tuple[AgendaItem, ...]:
    """A first agenda: what each side wants to learn, then the pair's objectives, each once."""
    texts = [f"Senior wants to learn: {skill}" for skill in senior_wants]
    texts += [f"Junior wants to learn: {skill}" for skill in junior_wants]
    texts += [f"Objective: {objective}" for objective in objectives]
    return tuple(AgendaItem(text) for text in dict.fromkeys(texts))[:MAX_ITEMS]


def carry_over(previous: Iterable[AgendaItem]) -> tuple[AgendaItem, ...]:
    """The next agenda: what the previous one left open."""
    return tuple(AgendaItem(item.text) for item in previous if not item.done)
