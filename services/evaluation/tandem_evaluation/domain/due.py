"""When each assessment falls due.

A paired participant's tandem runs from their pair's activation to its end (its rotation date until
it ends); someone never paired (waitlisted, or left unmatched by a round) is measured over the
program, from its start date to its end date, as the comparison group. Baseline is due at the
start, the midpoint half-way, the end at the end (or as soon as the pair ends or the program closes).

>>> phases_due(Timeline(start, end), now, ended=False)
[Phase.BASELINE]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from tandem_evaluation.domain.events import Phase
from tandem_evaluation.domain.facts import PairFacts, ProgramFacts

__all__ = ["Timeline", "pair_timeline", "phases_due", "program_timeline"]


@dataclass(frozen=True, slots=True)
class Timeline:
    start: datetime
    end: datetime

    @property
    def midpoint(self) -> datetime:
        return self.start + (self.end - self.start) / 2


def pair_timeline(pair: PairFacts) -> Timeline:
    return Timeline(pair.activated_at, pair.ended_at or pair.rotation_due_at)


def program_timeline(program: ProgramFacts) -> Timeline:
    return Timeline(
        datetime.combine(program.start_date, time(), tzinfo=UTC), datetime.combine(program.end_date, time(), tzinfo=UTC)
    )


def phases_due(timeline: Timeline, now: datetime, *, ended: bool) -> list[Phase]:
    """The phases whose time has come at `now`, in order; `ended`: the tandem or the program is over."""
    due = []
    if now >= timeline.start or ended:
        due.append(Phase.BASELINE)
    if now >= timeline.midpoint and not ended:
        due.append(Phase.MIDPOINT)
    if now >= timeline.end or ended:
        due.append(Phase.END)
    return due
