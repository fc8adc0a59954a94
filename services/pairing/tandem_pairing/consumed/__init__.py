"""What pairing reads of other services' events: tolerant readers, never the producers' own models."""

from tandem_pairing.consumed.enrollment import (
    ENROLLMENT_IGNORED_TYPES,
    ENROLLMENT_READERS,
    ENROLLMENT_TOPIC,
    Availability,
    ParticipantApproved,
    ParticipantEnrolled,
    ParticipantErased,
    ParticipantProfileUpdated,
    ParticipantWaitlisted,
    ParticipantWithdrew,
    ProgramClosed,
    ProgramCreated,
    SkillRating,
    enrollment_registry,
)

__all__ = [
    "ENROLLMENT_IGNORED_TYPES",
    "ENROLLMENT_READERS",
    "ENROLLMENT_TOPIC",
    "Availability",
    "ParticipantApproved",
    "ParticipantEnrolled",
    "ParticipantErased",
    "ParticipantProfileUpdated",
    "ParticipantWaitlisted",
    "ParticipantWithdrew",
    "ProgramClosed",
    "ProgramCreated",
    "SkillRating",
    "enrollment_registry",
]
