"""Request bodies of pairing's HTTP API: each refuses unknown fields and carries a valid example."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from tandem_pairing.domain.events import DeclineReason, ProgramPairingSettings, RoundKind

__all__ = ["Answer", "Decline", "EndPair", "PairRule", "PairingSettingsBody", "RoundRequest"]

_JUNIOR, _SENIOR = "0b6f2a53-3a8e-5d57-9e43-2c1f4b5d6e7a", "7c2d9e10-4b1f-5a3c-8d6e-9f0a1b2c3d4e"


def _request(*examples: dict[str, Any]) -> ConfigDict:
    # Request bodies refuse unknown fields; every example must be a valid body.
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class RoundRequest(BaseModel):
    """Which round to run: `full` (the first), `incremental` (people with room) or `rotation`."""

    model_config = _request({"kind": "full"})

    kind: RoundKind = RoundKind.FULL


class Answer(BaseModel):
    """Who answers the proposal: its junior or its senior."""

    model_config = _request({"participant_id": _JUNIOR})

    participant_id: UUID


class Decline(Answer):
    """Who declines, and why (a closed list: free text could carry personal data)."""

    model_config = _request({"participant_id": _SENIOR, "reason": "no_time"})

    reason: DeclineReason


class EndPair(BaseModel):
    """Why HR or a participant ends the pair early."""

    model_config = _request({"reason": "not_a_good_fit"})

    # The other reasons (participant_left, program_closed, rotated) are pairing's own to give.
    reason: Literal["not_a_good_fit", "other"]


class PairRule(BaseModel):
    """A junior and a senior of the program, to pin or forbid."""

    model_config = _request({"junior_id": _JUNIOR, "senior_id": _SENIOR})

    junior_id: UUID
    senior_id: UUID


class PairingSettingsBody(ProgramPairingSettings):
    """The program's pairing settings as HR sends them (fields left out take their defaults)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"senior_capacity": 2, "site_preference": "same", "weights": {"availability": 40}}]
        }
    )

    def settings(self) -> ProgramPairingSettings:
        """The settings themselves (the value events carry)."""
        return ProgramPairingSettings.model_validate(self.model_dump())
