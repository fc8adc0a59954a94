"""Value objects shared by programs and participants.

Constrained types are `Annotated` aliases so that commands, events and state all validate a value
the same way, and an HTTP body gets a field-level error for each bad value.

Only rules that can never change live here (a window starts before it ends, a code is a slug).
Rules that may change over time (the skills vocabulary, a program's catalogue) are checked by
commands and decide functions, so that events stored under the old rules still decode.

The checks written in Python are `unless_trusted`: an event read back from enrollment's own store
passed them when it was decided, and re-running them cost more than the rest of its decoding (the
read model's catch-up and rebuild read every `ParticipantEnrolled` again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import time
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pycountry
from annotated_types import Interval, Len
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from tandem_kernel.events import TRUSTED, unless_trusted

__all__ = [
    "COUNTRIES",
    "EMPLOYEE_ID_PATTERN",
    "TIME_ZONES",
    "AvailabilityWindow",
    "CountryCode",
    "EmployeeId",
    "KnownCountryCode",
    "KnownTimeZoneName",
    "LanguageCode",
    "Languages",
    "MeetingPreference",
    "Objective",
    "ObjectiveCatalogue",
    "ObjectiveCode",
    "ObjectiveCodes",
    "ParticipantStatus",
    "ProgramStatus",
    "Role",
    "Theme",
    "ThemeName",
    "TimeZoneName",
    "ValueObject",
    "Weekday",
    "WeeklyAvailability",
    "WithdrawalReason",
    "duplicates",
]

H = TypeVar("H", bound=Hashable)


class ValueObject(BaseModel):
    """Base of the domain's pydantic models: immutable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Role(StrEnum):
    """The side a participant takes: juniors mentor seniors on new tools, seniors give back experience."""

    JUNIOR = "junior"
    SENIOR = "senior"


class ProgramStatus(StrEnum):
    """A program's lifecycle, in order: draft → open (for enrollment) → running → closed."""

    DRAFT = "draft"
    OPEN = "open"
    RUNNING = "running"
    CLOSED = "closed"


class ParticipantStatus(StrEnum):
    """An enrollment's lifecycle: applied → approved or waitlisted; withdrawn from any of them."""

    APPLIED = "applied"
    APPROVED = "approved"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"


class MeetingPreference(StrEnum):
    """How a participant would rather meet their tandem partner."""

    REMOTE = "remote"
    IN_PERSON = "in_person"
    EITHER = "either"


class WithdrawalReason(StrEnum):
    """Why a participant left, as a closed list: free text could carry personal data into events."""

    NOT_GIVEN = "not_given"
    WORKLOAD = "workload"
    LEFT_COMPANY = "left_company"
    PROGRAM_FIT = "program_fit"
    OTHER = "other"
    # Set only by erasure; a withdraw command may not claim it (see WithdrawParticipant).
    ERASURE = "erasure"


class Theme(StrEnum):
    """The well-known objective themes. A program may use its own theme too: any `ThemeName`."""

    DIGITAL_TOOLS = "digital_tools"
    AI = "ai"
    PROFESSIONAL_SOCIAL_NETWORKS = "professional_social_networks"
    NEW_WORK_METHODS = "new_work_methods"
    COMMUNICATION = "communication"
    DIVERSITY_INCLUSION = "diversity_inclusion"


def duplicates(codes: Iterable[str]) -> list[str]:
    """The codes that occur more than once, sorted: `duplicates(["a", "b", "a"]) == ["a"]`."""
    codes = list(codes)
    if len(set(codes)) == len(codes):  # the usual case, and every stored event decoded: no counting
        return []
    return sorted(code for code, count in Counter(codes).items() if count > 1)


def _unique(values: Sequence[H]) -> tuple[H, ...]:
    # Repeats ("en;EN") are harmless typing slips: keep the first, in the order given.
    return tuple(dict.fromkeys(values))


# Codes are lower-case slugs so that "AI" typed in a spreadsheet and "ai" in JSON are one code.
_Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
    ),
]
ObjectiveCode = _Slug
ThemeName = _Slug
ObjectiveCodes = Annotated[tuple[ObjectiveCode, ...], Len(0, 30), AfterValidator(unless_trusted(_unique))]

LanguageCode = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z]{2,3}$")]
"""An ISO 639 language code (`en`, `fr`, `deu`), stored lower-case."""

Languages = Annotated[tuple[LanguageCode, ...], Len(1, 20), AfterValidator(unless_trusted(_unique))]
"""At least one language, without repeats."""

CountryCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]
"""An ISO 3166-1 alpha-2 country code, stored upper-case."""

COUNTRIES: Mapping[str, str] = MappingProxyType({country.alpha_2: country.name for country in pycountry.countries})
"""Every ISO 3166-1 country today, by alpha-2 code: the codes commands accept."""


def _known_country(code: str) -> str:
    if code not in COUNTRIES:
        raise ValueError(f"{code!r} is not an ISO 3166-1 country code (see GET /vocabulary/countries)")
    return code


KnownCountryCode = Annotated[
    CountryCode, AfterValidator(_known_country), WithJsonSchema({"type": "string", "enum": sorted(COUNTRIES)})
]
"""A country code as commands accept it: one that exists today (stored events keep whatever they said)."""

EMPLOYEE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

EmployeeId = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=EMPLOYEE_ID_PATTERN)]
"""The employer's own id for an employee (HR system key). Case does not tell people apart
(`p-j2w` and `P-J2W` are one person): it is kept upper-case, the one canonical spelling."""


def _known_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/Paris'") from None
    return name


TimeZoneName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(unless_trusted(_known_time_zone)),
]
"""An IANA time zone name known to `zoneinfo`, e.g. `Europe/Paris`."""

TIME_ZONES: tuple[str, ...] = tuple(sorted(available_timezones() - {"localtime", "Factory", "posixrules"}))
"""The IANA time zones to choose from (`GET /vocabulary/time-zones`)."""

KnownTimeZoneName = Annotated[TimeZoneName, WithJsonSchema({"type": "string", "enum": list(TIME_ZONES)})]
"""A time zone as commands accept it; the schema lists them."""


class Objective(ValueObject):
    """One entry of a program's catalogue, e.g. `Objective(code="prompts", title="Write good prompts", theme="ai")`."""

    code: ObjectiveCode
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    theme: ThemeName


def _one_objective_per_code(objectives: tuple[Objective, ...]) -> tuple[Objective, ...]:
    repeated = duplicates(objective.code for objective in objectives)
    if repeated:
        raise ValueError(f"objective codes must be unique, repeated: {', '.join(repeated)}")
    return objectives


ObjectiveCatalogue = Annotated[
    tuple[Objective, ...], Len(0, 100), AfterValidator(unless_trusted(_one_objective_per_code))
]
"""A program's objectives, each code at most once."""

MINUTES_PER_DAY = 24 * 60
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekday_number(value: Any) -> Any:
    # Spreadsheets and people say "mon" or "Monday"; the model keeps Python's 0 = Monday.
    if isinstance(value, str):
        name = value.strip().lower()
        if name[:3] in _WEEKDAYS and (len(name) == 3 or name.endswith("day")):
            return _WEEKDAYS.index(name[:3])
    return value


# Written out: bounds after a BeforeValidator reach the JSON schema as `ge`/`le`, which JSON
# Schema does not know (validators and clients would ignore them). Day names are accepted too.
Weekday = Annotated[
    int,
    BeforeValidator(_weekday_number),
    Interval(ge=0, le=6),
    WithJsonSchema(
        {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 = Monday … 6 = Sunday (or `mon`, `tuesday`)."}
    ),
]
"""0 = Monday … 6 = Sunday; also accepts `mon`, `Tuesday`, …"""


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _time_of_day(value: Any) -> Any:
    # Parsed here rather than after, so that strict validation (an HTTP body) reads "09:00" too.
    # "24:00" is how people write "until midnight"; `time` cannot hold it, 00:00 stands for it.
    if not isinstance(value, str):
        return value
    return time(0) if value.strip() == "24:00" else _LAX_TIME.validate_python(value.strip())


_LAX_TIME: TypeAdapter[time] = TypeAdapter(time)

# As written out (serialization), a time has no offset: JSON Schema's "format": "time" (RFC 3339)
# would demand one, so answers say what they hold. What is accepted keeps "format": "time".
TimeOfDay = Annotated[
    time,
    BeforeValidator(unless_trusted(_time_of_day)),
    WithJsonSchema(
        {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$"},
        mode="serialization",
    ),
]
"""A wall-clock time, `HH:MM` (or `HH:MM:SS`)."""


class AvailabilityWindow(ValueObject):
    """A weekly slot in the participant's own time zone, e.g. Monday 09:00 to 11:00.

    An `end` of 00:00 (or "24:00") means midnight at the end of the day, so a slot never spans two
    days: a night owl gives two slots.
    """

    weekday: Weekday
    start: TimeOfDay
    end: Annotated[TimeOfDay, Field(description="`24:00` (or `00:00`) means midnight at the end of the day.")]

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: time, info: ValidationInfo) -> time:
        if info.context is TRUSTED:
            return end
        start = info.data.get("start")
        if start is not None and (_minute_of_day(end) or MINUTES_PER_DAY) <= _minute_of_day(start):
            raise ValueError("end must be after start")
        return end

    @property
    def start_minute(self) -> int:
        """Minutes after local midnight at which the slot opens."""
        return _minute_of_day(self.start)

    @property
    def end_minute(self) -> int:
        """Minutes after local midnight at which the slot closes (1440 for an `end` of 00:00)."""
        return _minute_of_day(self.end) or MINUTES_PER_DAY

    def overlaps(self, other: AvailabilityWindow) -> bool:
        """Whether both slots share some minute; touching slots (10:00 end, 10:00 start) do not."""
        return (
            self.weekday == other.weekday
            and self.start_minute < other.end_minute
            and other.start_minute < self.end_minute
        )


def _without_overlaps(windows: tuple[AvailabilityWindow, ...]) -> tuple[AvailabilityWindow, ...]:
    ordered = tuple(sorted(windows, key=lambda window: (window.weekday, window.start_minute)))
    for earlier, later in pairwise(ordered):
        if earlier.overlaps(later):
            raise ValueError(
                f"availability windows overlap on {_WEEKDAYS[later.weekday]}: "
                f"{earlier.start:%H:%M}-{earlier.end:%H:%M} and {later.start:%H:%M}-{later.end:%H:%M}"
            )
    return ordered


WeeklyAvailability = Annotated[
    tuple[AvailabilityWindow, ...], Len(0, 50), AfterValidator(unless_trusted(_without_overlaps))
]
"""A week's slots, ordered by day and start, none overlapping."""
