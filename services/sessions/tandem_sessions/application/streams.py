"""The one kind of stream sessions writes: a pair's schedule, followed by the sessions ledger."""

from __future__ import annotations

from tandem_kernel.commands import StreamKind

from tandem_sessions.adapters import ledger
from tandem_sessions.domain.schedule import PairSchedule, replay_schedule

__all__ = ["SCHEDULES"]

SCHEDULES: StreamKind[PairSchedule] = StreamKind("schedule", replay_schedule, follow=ledger.save)
