"""Progress for long commands (import, republish, rebuild, simulate): rate and time left, on stderr.

>>> with Progress("rebuild enrollment.participants", unit="events") as advance:
...     advance(done=5_000, total=10_000)
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as _RichProgress

__all__ = ["Progress"]


class Progress:
    """A progress bar that is also the `(done, total)` callback long operations report to."""

    def __init__(self, label: str, *, unit: str = "events") -> None:
        self.unit = unit
        self._bar = _RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: TaskID = self._bar.add_task(label, total=None, rate="")

    def __call__(self, done: int, total: int | None = None) -> None:
        task = self._bar.tasks[0]
        speed = task.speed
        rate = f"{speed:,.0f} {self.unit}/s" if speed else ""
        self._bar.update(self._task, completed=done, total=total, rate=rate)

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._bar.stop()
