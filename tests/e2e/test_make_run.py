"""`make run` stays true: the whole platform comes up with demo data, serves, and stops cleanly."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tandem_kernel.devbroker import free_port
from tandem_kernel.testing import free_port_block

pytestmark = pytest.mark.slow


class Lines:
    """A process's output, read in a thread: waiting for a line can time out (a readline cannot)."""

    def __init__(self, stream: TextIO) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self._queue.put(line)

    def until(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} after {timeout:.0f}s:\n" + "".join(self.seen)
            try:
                self.seen.append(self._queue.get(timeout=min(left, 1.0)))
            except queue.Empty:
                continue


def test_tandem_run_starts_every_service_with_demo_data_and_stops_on_ctrl_c(database_url: str, tmp_path: Path) -> None:
    first_port = free_port_block(12)  # the services take consecutive ports from the first
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tandem_kernel.cli",
            "run",
            "--first-port",
            str(first_port),
            "--broker-port",
            str(first_port + 10),
            "--identity-port",
            str(first_port + 11),
        ],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "text"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = Lines(process.stdout)
    try:
        lines.until("Ctrl-C stops everything", timeout=150)
        output = lines.seen

        urls = dict(line.split()[:2] for line in output if "API docs:" in line)
        tokens = dict(line.split()[:2] for line in output if line.startswith("  ") and line.split()[-1].count(".") == 2)
        rounds = [line for line in output if "pairs proposed" in line]
        assert rounds and "(http://127.0.0.1:" in rounds[0], "".join(output)  # a link to open as printed
        assert "enrollment" in urls, "".join(output)
        assert {"hr.admin", "junior", "senior", "platform"} <= set(tokens), "".join(output)
        for url in urls.values():
            assert httpx.get(f"{url}/readyz", timeout=5).json()["ready"] is True
        hr = {"Authorization": f"Bearer {tokens['hr.admin']}"}
        programs = httpx.get(f"{urls['enrollment']}/programs", headers=hr, timeout=5).json()["items"]
        assert programs, "the demo program was loaded"
        assert httpx.get(f"{urls['enrollment']}/programs", timeout=5).status_code == 401  # not without a token

        # The broker dies (it keeps nothing): the run starts it again and every service gets its
        # history back, pairing applying none of enrollment's events twice.
        pool = f"{urls['pairing']}/programs/{programs[0]['program_id']}/pool"
        pool_before = httpx.get(pool, headers=hr, timeout=5).json()
        _kill_broker(process.pid)
        lines.until("starting it again", timeout=30)
        for url in urls.values():
            _eventually(lambda url=url: _recovered(url), timeout=90, what=f"{url} to publish its history again")
        assert httpx.get(pool, headers=hr, timeout=5).json() == pool_before
        for url in urls.values():
            assert _metric(url, "tandem_dead_letters_total") == 0
            assert _metric(url, "tandem_conflicting_duplicates_total") == 0
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        finally:
            process.kill()
        lines.until("stopping", timeout=10)

    assert process.returncode == 0, "".join(lines.seen)
    # What a run writes in its logs holds no bearer token and no e-mail address (the demo has forty).
    logs = "".join(path.read_text(errors="replace") for path in (tmp_path / ".tandem" / "logs").glob("*.log"))
    assert len(logs) > 1000
    assert re.findall(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", logs) == []
    assert re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", logs) == []


def _kill_broker(run_pid: int) -> None:
    children = psutil.Process(run_pid).children(recursive=True)
    brokers = [child for child in children if "tansu" in " ".join(child.cmdline())]
    assert len(brokers) == 1, [child.cmdline() for child in children]
    brokers[0].kill()


def _metric(url: str, name: str) -> float:
    """The sum of a metric's samples on a service (0 when it has none yet)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)


def _recovered(url: str) -> bool:
    """Ready again, with a topic loss seen and repaired (a service that publishes nothing, like
    reporting, has nothing to lose: ready again is all)."""
    ready = httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    if _metric(url, "tandem_events_published_total") == 0:
        return ready
    return (
        ready and _metric(url, "tandem_relay_topic_losses_total") >= 1 and _metric(url, "tandem_relay_topic_lost") == 0
    )


def _eventually(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout:.0f}s for {what}"
        time.sleep(0.5)


def test_a_second_run_checks_its_ports_first_and_says_what_is_in_the_way(database_url: str, tmp_path: Path) -> None:
    first_port, broker_port = free_port(), free_port()
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", first_port))
        occupant.listen()
        started = time.monotonic()
        command = ["run", "--first-port", str(first_port), "--broker-port", str(broker_port), "--identity-port", "0"]
        run = subprocess.run(
            [sys.executable, "-m", "tandem_kernel.cli", *command],
            cwd=tmp_path,
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run.returncode == 2, run.stdout + run.stderr
    assert f"port {first_port} (for enrollment) is in use by process {os.getpid()}" in run.stderr
    assert "PORT=" in run.stderr and time.monotonic() - started < 30
    assert not (tmp_path / ".tandem" / "logs" / "broker.log").exists()  # nothing was started
