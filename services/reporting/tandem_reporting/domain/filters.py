"""What a report can be narrowed to: a program's participants by group and enrollment dates."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

__all__ = ["DIMENSIONS", "Filters", "rate"]

DIMENSIONS = ("department", "site", "country", "role", "job_level")
"""What figures break down by."""


@dataclass(frozen=True)
class Filters:
    """Participants of a program in these groups, enrolled from `since` (inclusive) to `until` (exclusive);
    sessions counted by when they start in that window. None: no limit."""

    department: str | None = None
    site: str | None = None
    country: str | None = None
    role: str | None = None
    job_level: int | None = None
    since: date | None = None
    until: date | None = None

    def groups(self) -> dict[str, str | None]:
        """The group filters as text (what small-group suppression checks)."""
        values = asdict(self)
        return {name: None if values[name] is None else str(values[name]) for name in DIMENSIONS}

    def narrows_by_time(self) -> bool:
        return self.since is not None or self.until is not None


def rate(part: int, whole: int) -> float | None:
    """part / whole, rounded to 4 places; None for an empty whole."""
    return round(part / whole, 4) if whole else None
