"""The pure core of enrollment: no database, no broker, no HTTP.

Programs and enrollments are event-sourced, each in its own stream. For each stream a set of
`decide_*` functions turns a command (and whatever the application must look up) into events, and
an `evolve_*` function folds an event into state::

    program = replay_program(program_events)
    events = decide_enroll(None, command, program=program, approved_count=12, now=now)
    participant = replay_participant(events)

Module map: `values`, `skills`, `eligibility`, `terms`, `profile` (value objects) · `commands` ·
`events` · `program` and `participant` (decide/evolve) · `waitlist` (capacity rules) ·
`bulk_import` (CSV and JSON-lines parsing).
"""

from tandem_enrollment.domain.bulk_import import (
    AcceptedRow,
    FieldError,
    ImportedRow,
    RejectedRow,
    parse_csv,
    parse_jsonl,
)
from tandem_enrollment.domain.commands import (
    ChangeEligibilityRules,
    ChangeProgramObjectives,
    CreateProgram,
    EnrollParticipant,
    UpdateParticipantProfile,
    WithdrawParticipant,
)
from tandem_enrollment.domain.eligibility import EligibilityRules, JuniorEligibility, SeniorEligibility
from tandem_enrollment.domain.events import (
    ENROLLMENT_EVENTS,
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantEvent,
    ParticipantProfileUpdated,
    ParticipantVetted,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    ProgramClosed,
    ProgramCreated,
    ProgramEligibilityChanged,
    ProgramEvent,
    ProgramObjectivesChanged,
    ProgramOpened,
    ProgramStarted,
    person_subject,
)
from tandem_enrollment.domain.participant import (
    Participant,
    decide_approve,
    decide_enroll,
    decide_erase,
    decide_update_profile,
    decide_withdraw,
    enrollment_id,
    evolve_participant,
    replay_participant,
)
from tandem_enrollment.domain.profile import PERSONAL_FIELDS, PROFILE_FIELDS, ParticipantProfile
from tandem_enrollment.domain.program import (
    Program,
    decide_change_eligibility,
    decide_change_objectives,
    decide_close_program,
    decide_create_program,
    decide_open_program,
    decide_start_program,
    evolve_program,
    replay_program,
)
from tandem_enrollment.domain.skills import SKILLS, Skill, SkillArea, SkillRating
from tandem_enrollment.domain.terms import ProgramTerms
from tandem_enrollment.domain.values import (
    AvailabilityWindow,
    MeetingPreference,
    Objective,
    ParticipantStatus,
    ProgramStatus,
    Role,
    Theme,
    WithdrawalReason,
)
from tandem_enrollment.domain.waitlist import WaitingParticipant, admissions, free_places, has_free_place

__all__ = [
    "ENROLLMENT_EVENTS",
    "PERSONAL_FIELDS",
    "PROFILE_FIELDS",
    "SKILLS",
    "AcceptedRow",
    "AvailabilityWindow",
    "ChangeEligibilityRules",
    "ChangeProgramObjectives",
    "CreateProgram",
    "EligibilityRules",
    "EnrollParticipant",
    "FieldError",
    "ImportedRow",
    "JuniorEligibility",
    "MeetingPreference",
    "Objective",
    "Participant",
    "ParticipantApproved",
    "ParticipantEnrolled",
    "ParticipantErased",
    "ParticipantEvent",
    "ParticipantProfile",
    "ParticipantProfileUpdated",
    "ParticipantStatus",
    "ParticipantVetted",
    "ParticipantWaitlisted",
    "ParticipantWithdrew",
    "Program",
    "ProgramClosed",
    "ProgramCreated",
    "ProgramEligibilityChanged",
    "ProgramEvent",
    "ProgramObjectivesChanged",
    "ProgramOpened",
    "ProgramStarted",
    "ProgramStatus",
    "ProgramTerms",
    "RejectedRow",
    "Role",
    "SeniorEligibility",
    "Skill",
    "SkillArea",
    "SkillRating",
    "Theme",
    "UpdateParticipantProfile",
    "WaitingParticipant",
    "WithdrawParticipant",
    "WithdrawalReason",
    "admissions",
    "decide_approve",
    "decide_change_eligibility",
    "decide_change_objectives",
    "decide_close_program",
    "decide_create_program",
    "decide_enroll",
    "decide_erase",
    "decide_open_program",
    "decide_start_program",
    "decide_update_profile",
    "decide_withdraw",
    "enrollment_id",
    "evolve_participant",
    "evolve_program",
    "free_places",
    "has_free_place",
    "parse_csv",
    "parse_jsonl",
    "person_subject",
    "replay_participant",
    "replay_program",
]
