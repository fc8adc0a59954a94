"""A Kafka record as the kernel sees it, independent of the client library."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["IncomingMessage"]


@dataclass(frozen=True)
class IncomingMessage:
    """One consumed record: where it came from, its key, value and (decoded) headers."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, str]
