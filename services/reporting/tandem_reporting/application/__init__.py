"""Reporting's application layer: what it subscribes to, and the reports it answers."""

from __future__ import annotations

from tandem_kernel.consumers import Subscription

from tandem_reporting.consumed import SOURCES

__all__ = ["subscriptions"]


def subscriptions() -> list[Subscription]:
    """One retaining subscription per source topic: no handlers, the inbox keeps every envelope it
    accepts and the `programs` projection reads them back (rebuildable without the broker)."""
    return [
        Subscription(
            source.subscription, (source.topic,), source.registry, ignored_types=source.ignored_types, retain=True
        )
        for source in SOURCES
    ]
