"""What the simulation did, counted as the APIs accepted it: the ground truth reports are checked against."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GroundTruth"]


@dataclass
class GroundTruth:
    """Only what an API answered with success counts: a refused call changed nothing."""

    program_id: str = ""
    employees: int = 0
    enrolled: int = 0
    rejected_rows: int = 0
    approved: set[str] = field(default_factory=set)  # participant ids
    waitlisted: set[str] = field(default_factory=set)
    withdrawn: set[str] = field(default_factory=set)
    erased: set[str] = field(default_factory=set)
    rounds: list[str] = field(default_factory=list)
    proposals: set[str] = field(default_factory=set)  # pair ids
    declined: set[str] = field(default_factory=set)  # pair ids
    decliners: set[str] = field(default_factory=set)  # participant ids
    activated: set[str] = field(default_factory=set)
    paired_people: set[str] = field(default_factory=set)
    sessions_held: set[str] = field(default_factory=set)  # session ids
    sessions_missed: set[str] = field(default_factory=set)
    sessions_cancelled: set[str] = field(default_factory=set)  # by a participant
    people_with_a_held_session: set[str] = field(default_factory=set)
    feedback: int = 0
    feedback_people: set[str] = field(default_factory=set)
    usefulness: int = 0  # the sum of the ratings given
    trust: int = 0
    fit_answers: Counter[bool] = field(default_factory=Counter)
    assessments: Counter[str] = field(default_factory=Counter)  # by phase
    end_assessed: set[str] = field(default_factory=set)
    practices: int = 0
    surveys: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # calls the platform refused, by action
    refusals: Counter[str] = field(default_factory=Counter)  # … by action, status and the problem's code

    def figures(self) -> dict[str, Any]:
        """The counts, as a JSON-able mapping."""
        return {
            "program_id": self.program_id,
            "employees": self.employees,
            "enrolled": self.enrolled,
            "rejected_rows": self.rejected_rows,
            "approved": len(self.approved),
            "waitlisted": len(self.waitlisted),
            "withdrawn": len(self.withdrawn),
            "erased": len(self.erased),
            "rounds": len(self.rounds),
            "proposals": len(self.proposals),
            "declined": len(self.declined),
            "pairs_formed": len(self.activated),
            "paired_people": len(self.paired_people),
            "sessions_held": len(self.sessions_held),
            "sessions_missed": len(self.sessions_missed),
            "sessions_cancelled_by_participants": len(self.sessions_cancelled),
            "people_with_a_held_session": len(self.people_with_a_held_session),
            "feedback_given": self.feedback,
            "feedback_people": len(self.feedback_people),
            "mean_usefulness": round(self.usefulness / self.feedback, 3) if self.feedback else None,
            "mean_trust": round(self.trust / self.feedback, 3) if self.feedback else None,
            "fit_answers": {"good": self.fit_answers[True], "not_good": self.fit_answers[False]},
            "assessments": dict(self.assessments),
            "end_assessed": len(self.end_assessed),
            "practices_adopted": self.practices,
            "surveys": self.surveys,
            "refused": dict(self.refused),
            "refusals": dict(self.refusals.most_common()),
        }
