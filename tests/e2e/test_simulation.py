"""A small company plays a few months of a program through the public APIs (`tandem simulate`), against
the real broker and PostgreSQL with every installed service; then reporting's figures equal what the
simulation did (its ground truth), exactly."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx
import psutil
import pytest
from tandem_kernel.cli import commands, services
from tandem_kernel.testing import free_port_block

pytestmark = pytest.mark.slow

NEEDED = ("enrollment", "pairing", "sessions", "evaluation", "reporting")
SIZE, WEEKS = 200, 12


class Lines:
    """A process's output, read in a thread, so that waiting for a line can time out."""

    def __init__(self, stream: TextIO, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._ended = threading.Event()  # the whole output is in the queue
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self._queue.put(line)
        self._ended.set()

    def until(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} after {timeout:.0f}s:\n" + "".join(self.seen[-200:])
            if self._ended.is_set() and self._queue.empty():
                raise AssertionError(f"it exited ({self.process.returncode}):\n" + "".join(self.seen[-200:]))
            try:
                self.seen.append(self._queue.get(timeout=min(left, 1.0)))
            except queue.Empty:
                continue


def _expected(truth: dict[str, Any]) -> dict[str, int]:
    """Reporting's figures as the simulation's ground truth says they must be."""
    return {
        "enrolled": truth["enrolled"],
        "paired": truth["paired_people"],
        "first_session_held": truth["people_with_a_held_session"],
        "final_assessment": truth["end_assessed"],
        "proposed": truth["proposals"],
        "accepted": truth["pairs_formed"],
        "declined": truth["declined"],
        "held": truth["sessions_held"],
        "missed": truth["sessions_missed"],
        "sessions_held_weekly": truth["sessions_held"],
        "feedback_people": truth["feedback_people"],
        "usefulness": truth["mean_usefulness"],
        "trust": truth["mean_trust"],
    }


def _reported(reporting: str, program_id: str, token: str) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {token}"}
    overview = httpx.get(f"{reporting}/programs/{program_id}/overview", headers=headers, timeout=10).json()["report"]
    weekly = httpx.get(f"{reporting}/programs/{program_id}/weekly", headers=headers, timeout=10).json()["report"]
    impact = httpx.get(f"{reporting}/programs/{program_id}/impact", headers=headers, timeout=10).json()["report"]
    funnel = {stage["stage"]: stage["count"] for stage in overview["funnel"]}
    return {
        "enrolled": funnel["enrolled"],
        "paired": funnel["paired"],
        "first_session_held": funnel["first_session_held"],
        "final_assessment": funnel["final_assessment"],
        "proposed": overview["proposals"]["proposed"],
        "accepted": overview["proposals"]["accepted"],
        "declined": overview["proposals"]["declined"],
        "held": overview["sessions"]["held"],
        "missed": overview["sessions"]["missed"],
        # Weekly feedback counts are hidden in weeks of fewer than five people; the program's are not.
        "sessions_held_weekly": sum(week["sessions_held"] for week in weekly),
        "feedback_people": impact["feedback"]["people"],
        "usefulness": impact["feedback"]["usefulness"],
        "trust": impact["feedback"]["trust"],
    }


def _simulate(database_url: str, tmp_path: Path) -> tuple[subprocess.Popen[str], Lines]:
    """`tandem simulate` in a session of its own (a terminal's Ctrl-C reaches its process group), on
    free ports, in `tmp_path`."""
    missing = [name for name in NEEDED if name not in services()]
    if missing or "simulate" not in commands():
        pytest.skip(f"needs every service and tandem-simulation installed; missing: {', '.join(missing) or 'simulate'}")
    base = free_port_block(12)  # the services take consecutive ports from the first
    ports = ["--first-port", str(base), "--broker-port", str(base + 10), "--identity-port", str(base + 11)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tandem_kernel.cli", "simulate", "--size", str(SIZE), "--weeks", str(WEEKS), *ports],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "text"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    return process, Lines(process.stdout, process)


def test_reporting_equals_what_a_simulated_company_did(database_url: str, tmp_path: Path) -> None:
    process, lines = _simulate(database_url, tmp_path)
    try:
        lines.until("Ctrl-C stops everything", timeout=900)
        output = "".join(lines.seen)
        truth = json.loads((tmp_path / ".tandem" / "simulation.json").read_text())
        tokens = json.loads((tmp_path / ".tandem" / "tokens.json").read_text())
        urls = dict(line.split()[:2] for line in lines.seen if "API docs:" in line)
        assert "/dashboard/" in output and "junior" in tokens, output

        # The company did something of everything (else the comparison proves little).
        assert truth["enrolled"] == SIZE and truth["withdrawn"] > 0
        assert truth["pairs_formed"] > SIZE // 4 and truth["declined"] > 0
        assert truth["sessions_held"] > 0 and truth["sessions_missed"] > 0 and truth["feedback_given"] > 0
        assert truth["end_assessed"] > 0 and truth["surveys"] > 0

        expected = _expected(truth)
        deadline = time.monotonic() + 120
        reported = _reported(urls["reporting"], truth["program_id"], tokens["reporting"])
        while reported != expected and time.monotonic() < deadline:  # reporting catches up with the events
            time.sleep(1)
            reported = _reported(urls["reporting"], truth["program_id"], tokens["reporting"])
        assert reported == expected, json.dumps({"reported": reported, "expected": expected, "truth": truth}) + "".join(
            line for line in lines.seen if "━" not in line
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        finally:
            process.kill()


@pytest.mark.parametrize("stop", ["SIGTERM to the run", "Ctrl-C to its process group"])
def test_a_simulation_told_to_stop_while_it_plays_stops_with_every_process_it_started(
    database_url: str, tmp_path: Path, stop: str
) -> None:
    # A process manager's SIGTERM used to be acted on only once the play was over, a Ctrl-C where
    # SIGINT is ignored (a background job) not at all: the services stopped on their own, and the
    # play retried every call against nothing, for good.
    process, lines = _simulate(database_url, tmp_path)
    started = _underway(process, lines)
    if stop == "SIGTERM to the run":
        process.terminate()
    else:  # every process at once, as a terminal does: the services' exits are no failure
        os.killpg(process.pid, signal.SIGINT)

    _stopped(process, lines, started, code=0)


def test_a_service_that_dies_while_the_simulation_plays_stops_the_run_saying_which(
    database_url: str, tmp_path: Path
) -> None:
    # The run watched its services only once the play was over: the play went on against a dead one.
    process, lines = _simulate(database_url, tmp_path)
    started = _underway(process, lines)
    [pairing] = [child for child in started if child.cmdline()[-2:] == ["serve", "pairing"]]
    pairing.kill()

    _stopped(process, lines, started, code=1)
    assert any("pairing exited with code -9; stopping" in line for line in lines.seen), "".join(lines.seen)


def _underway(process: subprocess.Popen[str], lines: Lines) -> list[psutil.Process]:
    """Once the play is under way: every process the run started (services, broker, OpenID provider)."""
    with _killed_on_failure(process):
        lines.until("imported:", timeout=300)
        started = psutil.Process(process.pid).children(recursive=True)
        assert len(started) >= len(NEEDED) + 2, [child.pid for child in started]
        return started


def _stopped(process: subprocess.Popen[str], lines: Lines, started: list[psutil.Process], *, code: int) -> None:
    """The run stopped with `code`, without playing on, and left none of `started` running."""
    with _killed_on_failure(process):
        process.wait(timeout=90)
        lines.until("stopping", timeout=10)
        assert process.returncode == code, "".join(lines.seen)
        assert not any("Ctrl-C stops everything" in line for line in lines.seen), "it played on to the end first"
        _, alive = psutil.wait_procs(started, timeout=10)
        assert alive == [], [child.pid for child in alive]


@contextlib.contextmanager
def _killed_on_failure(process: subprocess.Popen[str]) -> Iterator[None]:
    """Should what follows fail: the run's whole session killed, so no test leaves a platform running."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        raise
