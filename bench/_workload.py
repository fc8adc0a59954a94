"""What the benchmarks append: a participant's application, about 470 bytes of JSON, and how to time it."""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent, EventRegistry

__all__ = ["Measurement", "ParticipantApplied", "Timer", "participant_applied", "registry", "shares", "stored_json"]


class Slot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weekday: int
    start: clock
    end: clock


class ParticipantApplied(DomainEvent, type="bench.ParticipantApplied", version=1):
    participant_id: UUID
    program_id: UUID
    role: str
    languages: tuple[str, ...]
    country: str
    time_zone: str
    objectives: tuple[str, ...]
    meeting_preference: str
    availability: tuple[Slot, ...]
    applied_at: datetime


PROGRAM_ID = UUID("9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d")


def participant_applied() -> ParticipantApplied:
    return ParticipantApplied(
        participant_id=uuid4(),
        program_id=PROGRAM_ID,
        role="junior",
        languages=("en", "fr"),
        country="FR",
        time_zone="Europe/Paris",
        objectives=("ai-prompts", "linkedin-profile", "remote-meetings"),
        meeting_preference="either",
        availability=(
            Slot(weekday=0, start=clock(9), end=clock(11)),
            Slot(weekday=3, start=clock(14), end=clock(16)),
        ),
        applied_at=datetime.now(UTC),
    )


def registry() -> EventRegistry:
    return EventRegistry([ParticipantApplied])


def stored_json(event: DomainEvent) -> str:
    """The payload exactly as the event store writes it into its jsonb column."""
    return json.dumps(EventRegistry.encode(event))


@dataclass(frozen=True)
class Measurement:
    """One row of the results table."""

    name: str
    events: int
    seconds: float
    detail: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Timer:
    """`with Timer() as t:` … `t.seconds` (and `t.cpu_seconds`, this process's CPU time: steadier than
    wall time on a shared machine); also collects per-operation latencies in milliseconds."""

    def __init__(self) -> None:
        self.seconds = self.cpu_seconds = 0.0
        self.latencies_ms: list[float] = []

    def __enter__(self) -> Timer:
        self._start, self._cpu_start = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self._start
        self.cpu_seconds = time.process_time() - self._cpu_start

    def percentiles(self) -> str:
        if len(self.latencies_ms) < 2:
            return ""
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return f"latency p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms"


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal whole shares."""
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]
