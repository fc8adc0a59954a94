"""A generated history of every service's events for one or more programs, built with each producer's
own event models (enrollment's, pairing's, sessions', evaluation's) in the streams they write, so
the values must pass the producers' own validation (enums, ranges) as published events do.

`generate(seed)` returns the events in a publishable order (each stream's events in order, services
interleaved at random) and the facts they state, as plain data, for tests to check figures against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from pairing.integration.enrollment_feed import PROFILE, PROGRAM_TERMS
from tandem_enrollment.domain import events as en
from tandem_evaluation.domain import events as e
from tandem_kernel.events import DomainEvent
from tandem_pairing.domain import events as pa
from tandem_sessions.domain import events as s

__all__ = ["DEPARTMENTS", "SITES", "Batch", "History", "Person", "generate"]

DEPARTMENTS = ("Finance", "IT", "Sales", "HR")
SITES = {"Lyon": "FR", "Paris": "FR", "Madrid": "ES"}
SKILLS = ("ai_tools", "social_networks", "negotiation")
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


@dataclass(frozen=True)
class Batch:
    """Events one service appends to one stream at once."""

    service: str
    stream_id: str
    events: tuple[DomainEvent, ...]


@dataclass
class Person:
    participant_id: UUID
    program_id: UUID
    role: str
    department: str
    site: str
    country: str
    enrolled_at: datetime
    approved: bool = False
    paired: bool = False
    first_held_at: datetime | None = None
    final_assessed: bool = False


@dataclass
class History:
    batches: list[Batch] = field(default_factory=list)
    people: dict[UUID, Person] = field(default_factory=dict)
    programs: list[UUID] = field(default_factory=list)
    sessions: dict[str, int] = field(default_factory=lambda: {"planned": 0, "held": 0, "missed": 0, "cancelled": 0})
    surveys: dict[UUID, tuple[int, int]] = field(default_factory=dict)  # participant: satisfaction, recommendation
    feedback: list[tuple[UUID, int, int]] = field(default_factory=list)  # participant, usefulness, trust

    def count(self, **where: Any) -> int:
        return sum(
            all(getattr(person, key) == value for key, value in where.items()) for person in self.people.values()
        )


def generate(seed: int = 1, *, programs: int = 1, participants: int = 40) -> History:
    """A plausible history: enrollments, approvals, proposals and pairs, sessions, ratings, feedback, surveys."""
    rng = random.Random(seed)
    history = History()
    lanes: dict[str, list[Batch]] = {"enrollment": [], "pairing": [], "sessions": [], "evaluation": []}
    for _ in range(programs):
        _program(rng, history, lanes, participants)
    # Interleave the services at random, keeping each one's own order (and so each stream's).
    cursors = dict.fromkeys(lanes, 0)
    while any(cursors[name] < len(lane) for name, lane in lanes.items()):
        # A service's events about a program come after the program exists: enrollment leads a little.
        weights = [len(lanes[name]) - cursors[name] for name in lanes]
        name = rng.choices(list(lanes), weights=weights)[0]
        if name != "enrollment" and cursors["enrollment"] < len(lanes["enrollment"]) // 3:
            name = "enrollment"
        history.batches.append(lanes[name][cursors[name]])
        cursors[name] += 1
    return history


def _program(rng: random.Random, history: History, lanes: dict[str, list[Batch]], size: int) -> None:
    program_id = uuid4()
    history.programs.append(program_id)
    lanes["enrollment"].append(
        Batch(
            "enrollment",
            f"program-{program_id}",
            (
                en.ProgramCreated(
                    program_id=program_id, **{**PROGRAM_TERMS, "name": f"Program {len(history.programs)}"}
                ),
                en.ProgramOpened(program_id=program_id),
            ),
        )
    )
    juniors: list[Person] = []
    seniors: list[Person] = []
    for number in range(size):
        site = rng.choice(list(SITES))
        person = Person(
            uuid4(),
            program_id,
            "junior" if number % 2 == 0 else "senior",
            rng.choice(DEPARTMENTS),
            site,
            SITES[site],
            START + timedelta(days=rng.randrange(0, 21), hours=rng.randrange(0, 8)),
        )
        history.people[person.participant_id] = person
        identity = {
            "participant_id": person.participant_id,
            "program_id": program_id,
            "employee_id": f"E{len(history.people):05d}",
            "role": person.role,
        }
        profile = {**PROFILE, "department": person.department, "site": site, "country": person.country}
        events: list[DomainEvent] = [
            en.ParticipantEnrolled.model_validate({**identity, **profile, "enrolled_at": person.enrolled_at})
        ]
        if rng.random() < 0.85:
            person.approved = True
            events.append(en.ParticipantApproved(**identity, automatic=True))
            (juniors if person.role == "junior" else seniors).append(person)
        else:
            events.append(en.ParticipantWaitlisted(**identity, enrolled_at=person.enrolled_at))
        lanes["enrollment"].append(Batch("enrollment", f"participant-{person.participant_id}", tuple(events)))
    rng.shuffle(seniors)
    unmatched = []
    pairs: list[tuple[UUID, Person, Person]] = []
    round_id = uuid4()
    for junior, senior in zip(juniors, seniors, strict=False):
        pair_id = uuid4()
        ids = {"pair_id": pair_id, "program_id": program_id, "junior_id": junior.participant_id}
        ids["senior_id"] = senior.participant_id
        proposed_at = START + timedelta(days=25)
        events = [
            pa.PairProposed(
                **ids,
                round_id=round_id,
                score=round(rng.uniform(0.4, 0.95), 3),
                breakdown=pa.ScoreBreakdown(**dict.fromkeys(pa.ScoreBreakdown.model_fields, 0.5)),
                proposed_at=proposed_at,
                remind_at=proposed_at + timedelta(days=3),
                expires_at=proposed_at + timedelta(days=7),
                rotation_months=3,
            )
        ]
        outcome = rng.random()
        if outcome < 0.75:
            for person in (junior, senior):
                events.append(pa.ProposalAccepted(**ids, participant_id=person.participant_id, role=person.role))
                person.paired = True
            events.append(
                pa.PairActivated(
                    **ids,
                    activated_at=proposed_at + timedelta(days=2),
                    rotation_due_at=proposed_at + timedelta(days=92),
                )
            )
            pairs.append((pair_id, junior, senior))
        elif outcome < 0.9:
            events.append(
                pa.ProposalDeclined(**ids, participant_id=junior.participant_id, role="junior", reason="no_time")
            )
        else:
            events.append(pa.ProposalExpired(**ids, unanswered=(senior.participant_id,)))
        lanes["pairing"].append(Batch("pairing", f"pair-{pair_id}", tuple(events)))
    for person in [*juniors[len(seniors) :], *seniors[len(juniors) :]]:
        unmatched.append(
            pa.UnmatchedParticipant(participant_id=person.participant_id, role=person.role, reason="capacity")
        )
    lanes["pairing"].append(
        Batch(
            "pairing",
            f"round-{round_id}",
            (
                pa.PairingRoundCompleted(
                    round_id=round_id,
                    program_id=program_id,
                    kind="full",
                    pool_size=len(juniors) + len(seniors),
                    matched=len(pairs),
                    unmatched_count=len(unmatched),
                    unmatched=tuple(unmatched),
                    total_score=1.0,
                    completed_at=START + timedelta(days=25),
                ),
            ),
        )
    )
    for pair_id, junior, senior in pairs:
        _sessions(rng, history, lanes, program_id, pair_id, junior, senior)
    _impact(rng, history, lanes, program_id)


def _sessions(
    rng: random.Random,
    history: History,
    lanes: dict[str, list[Batch]],
    program_id: UUID,
    pair_id: UUID,
    junior: Person,
    senior: Person,
) -> None:
    ids = {"pair_id": pair_id, "program_id": program_id, "junior_id": junior.participant_id}
    ids["senior_id"] = senior.participant_id
    held_any = False
    for sequence in range(rng.randrange(0, 5)):
        session_id = uuid4()
        starts_at = START + timedelta(days=30 + 14 * sequence, hours=rng.randrange(0, 6))
        events: list[DomainEvent] = [
            s.SessionScheduled(
                **ids, session_id=session_id, starts_at=starts_at, duration_minutes=45, sequence=sequence, extra=False
            ),
            s.SessionAgendaUpdated(**ids, session_id=session_id, item_count=2),
        ]
        fate = rng.random()
        if fate < 0.6:
            events.append(s.SessionHeld(**ids, session_id=session_id, held_at=starts_at, duration_minutes=40))
            history.sessions["held"] += 1
            held_any = True
            for person in (junior, senior):
                if person.first_held_at is None or starts_at < person.first_held_at:
                    person.first_held_at = starts_at
                if rng.random() < 0.8:
                    usefulness, trust = rng.randint(1, 5), rng.randint(1, 5)
                    history.feedback.append((person.participant_id, usefulness, trust))
                    lanes["evaluation"].append(
                        Batch(
                            "evaluation",
                            f"evaluation-{person.participant_id}",
                            (
                                e.SessionFeedbackGiven(
                                    session_id=session_id,
                                    pair_id=pair_id,
                                    program_id=program_id,
                                    participant_id=person.participant_id,
                                    usefulness=usefulness,
                                    trust=trust,
                                    at=starts_at + timedelta(hours=2),
                                ),
                            ),
                        )
                    )
        elif fate < 0.75:
            events.append(s.SessionMissed(**ids, session_id=session_id, absent=(senior.participant_id,)))
            history.sessions["missed"] += 1
        elif fate < 0.9:
            events.append(
                s.SessionCancelled(
                    **ids,
                    session_id=session_id,
                    reason="participant_cancelled",
                    cancelled_by=junior.participant_id,
                    late=False,
                    sequence=sequence + 1,
                )
            )
            history.sessions["cancelled"] += 1
        else:
            history.sessions["planned"] += 1
        lanes["sessions"].append(Batch("sessions", f"schedule-{pair_id}", tuple(events)))
    if not held_any:
        lanes["sessions"].append(
            Batch(
                "sessions",
                f"schedule-{pair_id}",
                (s.PairAtRisk(**ids, reason="no_held_session", detected_at=START + timedelta(days=60)),),
            )
        )
    elif rng.random() < 0.2:
        lanes["sessions"].append(
            Batch(
                "sessions",
                f"schedule-{pair_id}",
                (s.PairNeedsAttention(**ids, reason="no_common_slot", detected_at=START + timedelta(days=90)),),
            )
        )


def _impact(rng: random.Random, history: History, lanes: dict[str, list[Batch]], program_id: UUID) -> None:
    for person in [p for p in history.people.values() if p.program_id == program_id and p.paired]:
        at = START + timedelta(days=26)
        base = {"program_id": program_id, "participant_id": person.participant_id, "pair_id": None, "role": person.role}
        levels = {skill: rng.randint(1, 3) for skill in SKILLS}
        events: list[DomainEvent] = [
            e.AssessmentRequested(
                program_id=program_id,
                participant_id=person.participant_id,
                pair_id=None,
                phase="baseline",
                requested_at=at,
            ),
            e.SkillsAssessed(
                **base,
                phase="baseline",
                by="self",
                ratings=tuple(e.SkillLevel(skill=k, level=v) for k, v in levels.items()),
                assessed_at=at,
            ),
        ]
        if rng.random() < 0.7:
            person.final_assessed = True
            events.append(
                e.SkillsAssessed(
                    **base,
                    phase="end",
                    by="self",
                    ratings=tuple(
                        e.SkillLevel(skill=k, level=min(5, v + rng.randint(0, 2))) for k, v in levels.items()
                    ),
                    assessed_at=at + timedelta(days=100),
                )
            )
            satisfaction, recommendation = rng.randint(2, 5), rng.randint(3, 10)
            history.surveys[person.participant_id] = (satisfaction, recommendation)
            events.append(
                e.SurveyAnswered(
                    program_id=program_id,
                    participant_id=person.participant_id,
                    satisfaction=satisfaction,
                    recommendation=recommendation,
                    at=at + timedelta(days=101),
                )
            )
        if rng.random() < 0.5:
            events.append(
                e.PracticeAdopted(
                    practice_id=uuid4(),
                    program_id=program_id,
                    participant_id=person.participant_id,
                    objective="ai_tools",
                    adopted_on=(at + timedelta(days=40)).date(),
                )
            )
            events.append(
                e.ObjectiveProgressed(
                    program_id=program_id,
                    participant_id=person.participant_id,
                    objective="ai_tools",
                    percent=rng.randint(10, 100),
                    at=at + timedelta(days=41),
                )
            )
        lanes["evaluation"].append(Batch("evaluation", f"evaluation-{person.participant_id}", tuple(events)))
    lanes["evaluation"].append(
        Batch(
            "evaluation",
            f"impact-{program_id}",
            (
                e.ProgramImpactUpdated(
                    program_id=program_id,
                    computed_at=START + timedelta(days=130),
                    skills=(
                        e.SkillImpact(skill="ai_tools", role="senior", n=12, mean_delta=0.8, ci_low=0.4, ci_high=1.2),
                        e.SkillImpact(
                            skill="negotiation", role="junior", n=3, mean_delta=1.0, ci_low=None, ci_high=None
                        ),
                    ),
                    adopted_share=0.5,
                    nps=20.0,
                    completion=0.7,
                    comparison=(
                        e.SkillComparison(
                            skill="ai_tools",
                            paired_n=12,
                            unpaired_n=6,
                            estimate=0.5,
                            ci_low=0.1,
                            ci_high=0.9,
                            statement="paired seniors gained 0.5 level more",
                        ),
                    ),
                ),
            ),
        )
    )
