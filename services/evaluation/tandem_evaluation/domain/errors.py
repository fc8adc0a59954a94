"""Why evaluation refuses a submission (mapped to HTTP once, at the edge, by the kernel's problem handlers)."""

from __future__ import annotations

from tandem_kernel.errors import DomainError, InvalidTransition, NotFound

__all__ = ["AlreadyAnswered", "InvalidAnswer", "LateAnswer", "NotAsked", "UnknownPractice"]


class InvalidAnswer(DomainError):
    """A value the participant cannot give: a skill they never wanted, an objective not theirs (422)."""

    code = "invalid-answer"


class LateAnswer(InvalidTransition):
    """The program closed (and its answer window too, for end assessments and surveys) (409)."""

    code = "program-closed"


class NotAsked(InvalidTransition):
    """Nobody asked for this yet: no such assessment phase, no held session before a fit answer (409)."""

    code = "not-asked"


class AlreadyAnswered(InvalidTransition):
    code = "already-answered"


class UnknownPractice(NotFound):
    code = "no-such-practice"
