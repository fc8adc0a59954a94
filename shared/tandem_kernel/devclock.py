"""One clock for every process of a development platform, so a simulation can play weeks in minutes.

Each service started with `DEV_CLOCK_FILE=<path>` (development and tests only) reads "now" as the
wall clock plus the offset written in that file; `tandem simulate` moves every service's time at
once by writing it. No file, or an empty one: no offset. The file is re-read when it changes (its
modification time), so reading the clock costs a `stat` at most.

>>> clock = SharedClock(Path(".tandem/clock"))
>>> SharedClock.advance_file(Path(".tandem/clock"), timedelta(days=7))   # every service: a week later
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["SharedClock"]


class SharedClock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: float | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    @property
    def offset(self) -> timedelta:
        try:
            changed = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return timedelta(0)
        if changed != self._seen:
            self._seen = changed
            self._offset = self.read_offset(self.path)
        return self._offset

    @staticmethod
    def read_offset(path: Path) -> timedelta:
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            return timedelta(0)
        return timedelta(seconds=float(json.loads(text)["offset_seconds"])) if text else timedelta(0)

    @staticmethod
    def set_file(path: Path, moment: datetime) -> None:
        """Every process reading `path` now says it is `moment` (and time runs on from there)."""
        SharedClock._write(path, moment - datetime.now(UTC))

    @staticmethod
    def advance_file(path: Path, by: timedelta) -> datetime:
        """Move every process's time forward by `by`; returns the new "now"."""
        offset = SharedClock.read_offset(path) + by
        SharedClock._write(path, offset)
        return datetime.now(UTC) + offset

    @staticmethod
    def _write(path: Path, offset: timedelta) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"offset_seconds": offset.total_seconds()}))
        os.replace(temporary, path)  # readers see the old offset or the new one, never half a file
