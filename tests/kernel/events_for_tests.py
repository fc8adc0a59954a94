"""Small events the kernel's tests append and read."""

from __future__ import annotations

from tandem_kernel.events import DomainEvent, EventRegistry


class CounterIncremented(DomainEvent, type="test.CounterIncremented", version=2):
    by: int
    reason: str


class CounterReset(DomainEvent, type="test.CounterReset", version=1):
    pass


def registry() -> EventRegistry:
    registry = EventRegistry([CounterIncremented, CounterReset])
    # Version 1 had no reason; old events read as incremented "for no reason".
    registry.upcast("test.CounterIncremented", 1, lambda data: {**data, "reason": "unspecified"})
    return registry
