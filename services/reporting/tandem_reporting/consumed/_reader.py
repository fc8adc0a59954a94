"""The base of every tolerant reader: frozen, and blind to fields reporting does not use."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from tandem_kernel.events import DomainEvent

__all__ = ["Part", "Reader"]


class Reader(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
