"""Sessions' pure domain: calendars and the slot planner, a pair's schedule, agendas. No I/O.

>>> outcome = plan(junior, senior, base=base, until=until, cadence=timedelta(days=14), duration=timedelta(minutes=45))
"""

from tandem_sessions.domain.agenda import AgendaItem, carry_over, seed_agenda
from tandem_sessions.domain.calendar import Interval, Person, Window
from tandem_sessions.domain.planning import PlanOutcome, plan
from tandem_sessions.domain.schedule import PairRef, PairSchedule, Session, SessionStatus

__all__ = [
    "AgendaItem",
    "Interval",
    "PairRef",
    "PairSchedule",
    "Person",
    "PlanOutcome",
    "Session",
    "SessionStatus",
    "Window",
    "carry_over",
    "plan",
    "seed_agenda",
]
