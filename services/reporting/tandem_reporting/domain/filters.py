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

    def counted_group(self) -> tuple[str, str] | None:
        """The one group these filters narrow to, ("", "") for none, as the overview's counts are
        kept (`adapters.overview_counts`); None when they narrow otherwise (dates, job level, or
        several groups at once) and the figures must be counted from the facts."""
        if self.narrows_by_time() or self.job_level is not None:
            return None
        named = [(name, value) for name, value in self.groups().items() if value is not None]
        if len(named) > 1:
            return None
        if not named:
            return ("", "")
        name, value = named[0]
        return (name, value.upper() if name == "country" else value)

    def narrows_by_time(self) -> bool:
        return self.since is not None or self.until is not None


def rate(part: int, whole: int) -> float | None:
    """part / whole, rounded to 4 places; None for an empty whole."""
    return round(part / whole, 4) if whole else None
