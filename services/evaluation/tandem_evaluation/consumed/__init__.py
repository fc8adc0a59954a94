"""What evaluation reads of other services' events: tolerant readers, never the producers' own models.

from tandem_evaluation.consumed import enrollment, pairing, sessions
"""

from tandem_evaluation.consumed import enrollment, pairing, sessions

__all__ = ["enrollment", "pairing", "sessions"]
