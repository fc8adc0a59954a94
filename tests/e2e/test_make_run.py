"""`make run` stays true: the whole platform comes up with demo data, serves, and stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tandem_kernel.devbroker import free_port

pytestmark = pytest.mark.slow


def test_tandem_run_starts_every_service_with_demo_data_and_stops_on_ctrl_c(database_url: str, tmp_path: Path) -> None:
    first_port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tandem_kernel.cli",
            "run",
            "--first-port",
            str(first_port),
            "--broker-port",
            str(free_port()),
        ],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "text"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        while not any("Ctrl-C stops everything" in line for line in output):
            assert time.monotonic() < deadline, "".join(output)
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(output)
            output.append(line)

        urls = dict(line.split()[:2] for line in output if "API docs:" in line)
        rounds = [line for line in output if "pairs proposed" in line]
        assert rounds and "(http://127.0.0.1:" in rounds[0], "".join(output)  # a link to open as printed
        assert "enrollment" in urls, "".join(output)
        for url in urls.values():
            assert httpx.get(f"{url}/readyz", timeout=5).json()["ready"] is True
        programs = httpx.get(f"{urls['enrollment']}/programs", timeout=5).json()["items"]
        assert programs, "the demo program was loaded"
    finally:
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=60)
        output.append(remaining)

    assert process.returncode == 0, "".join(output)
    assert "stopping" in "".join(output)


def test_a_second_run_checks_its_ports_first_and_says_what_is_in_the_way(database_url: str, tmp_path: Path) -> None:
    first_port, broker_port = free_port(), free_port()
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", first_port))
        occupant.listen()
        started = time.monotonic()
        command = ["run", "--first-port", str(first_port), "--broker-port", str(broker_port)]
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
