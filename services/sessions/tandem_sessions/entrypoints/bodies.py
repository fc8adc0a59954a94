"""Request bodies of sessions' HTTP API: each refuses unknown fields and carries a valid example."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tandem_sessions.domain.agenda import MAX_ITEMS
from tandem_sessions.domain.events import CancelReason

__all__ = ["Act", "AddSession", "AgendaBody", "Attendance", "Cancel", "NoteBody", "Reschedule"]

_JUNIOR, _SENIOR = "0b6f2a53-3a8e-5d57-9e43-2c1f4b5d6e7a", "7c2d9e10-4b1f-5a3c-8d6e-9f0a1b2c3d4e"
_WHEN = "2030-03-04T09:00:00+01:00"


def _request(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class Act(BaseModel):
    """Who acts: the junior or the senior of the pair (the caller themselves)."""

    model_config = _request({"participant_id": _JUNIOR})

    participant_id: UUID


class Reschedule(Act):
    """Another time for the session, with its time zone (it must suit both, and be in the future)."""

    model_config = _request({"participant_id": _SENIOR, "starts_at": _WHEN})

    starts_at: AwareDatetime


class Cancel(Act):
    """Why the session will not take place (a closed list: free text could carry personal data)."""

    model_config = _request({"participant_id": _SENIOR, "reason": "workload"})

    reason: Literal["participant_cancelled", "not_available", "illness", "workload", "other"]

    def cancel_reason(self) -> CancelReason:
        return CancelReason(self.reason)


class AddSession(Act):
    """An extra session: when (with its time zone) and for how long."""

    model_config = _request({"participant_id": _JUNIOR, "starts_at": _WHEN, "duration_minutes": 45})

    starts_at: AwareDatetime
    duration_minutes: int = Field(ge=15, le=240)


class Attendance(Act):
    """What happened: `held` for `duration_minutes`, or `missed` by `absent` (one or both of the two)."""

    model_config = _request(
        {"participant_id": _JUNIOR, "outcome": "held", "duration_minutes": 50},
        {"participant_id": _JUNIOR, "outcome": "missed", "absent": [_SENIOR]},
    )

    outcome: Literal["held", "missed"]
    duration_minutes: int | None = Field(default=None, ge=1, le=600)
    absent: list[UUID] = Field(default_factory=list, max_length=2)


class AgendaItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500)
    done: bool = False


class AgendaBody(Act):
    """The whole agenda: its items (in order) and the concrete project or challenge worked on."""

    model_config = _request(
        {
            "participant_id": _JUNIOR,
            "items": [{"text": "Try an AI assistant on the weekly report", "done": False}],
            "project": "The quarterly review deck",
        }
    )

    items: list[AgendaItemBody] = Field(max_length=MAX_ITEMS)
    project: str | None = Field(default=None, max_length=500)


class NoteBody(Act):
    """A private note: readable by the two of the pair only."""

    model_config = _request({"participant_id": _JUNIOR, "text": "Next time: show the shortcut for tables"})

    text: str = Field(min_length=1, max_length=5000)
