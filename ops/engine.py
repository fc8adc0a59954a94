"""A Docker engine of the project's own: `dockerd` on a private socket, data root and exec root.

Debian's `docker.io` engine, started with no bridge network and no iptables rules, so it changes
nothing on the machine it runs on: builds run with `--network none`, containers with
`--network host` (they reach PostgreSQL and the broker on loopback) or `--network none`.

    with DockerEngine() as engine:          # reuses an engine already answering on the socket
        engine.docker("info")

    python -m ops.engine start|stop|status  # keep one running between commands
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["REPO", "DockerEngine", "EngineUnavailable"]

REPO = Path(__file__).resolve().parents[1]


class EngineUnavailable(RuntimeError):
    """Docker cannot run on this machine (not installed, or not root)."""


class DockerEngine:
    """A `dockerd` whose images and layers persist under `state` (git-ignored) between runs."""

    def __init__(self, state: Path = REPO / ".tandem" / "docker", start_timeout: float = 60.0) -> None:
        self.state = state
        self.socket = state / "docker.sock"
        # containerd's sockets live under the exec root: keep its path short (unix sockets: 108 bytes).
        digest = hashlib.sha256(str(state).encode()).hexdigest()[:12]
        self.exec_root = Path(tempfile.gettempdir()) / f"tandem-docker-{digest}"
        self.log = state / "dockerd.log"
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The value of DOCKER_HOST for this engine."""
        return f"unix://{self.socket}"

    @property
    def environment(self) -> dict[str, str]:
        # The legacy builder: Debian's engine has BuildKit but no buildx plugin for newer clients.
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def docker(self, *args: str, check: bool = True, timeout: float | None = 600) -> subprocess.CompletedProcess[str]:
        """Run the docker client against this engine and return what it printed."""
        return subprocess.run(
            ["docker", *args], env=self.environment, capture_output=True, text=True, check=check, timeout=timeout
        )

    def answering(self) -> bool:
        if not self.socket.exists() or shutil.which("docker") is None:
            return False
        try:
            return self.docker("version", "--format", "{{.Server.Version}}", check=False, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def start(self) -> DockerEngine:
        """Start `dockerd` unless one already answers on the socket."""
        if self.answering():
            return self
        dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if Path("/usr/sbin/dockerd").exists() else None)
        if dockerd is None or shutil.which("docker") is None:
            raise EngineUnavailable("no Docker engine: run `make deploy-tools` (Debian's docker.io)")
        if os.geteuid() != 0:
            raise EngineUnavailable("dockerd needs root here (no rootless engine is set up)")
        self.state.mkdir(parents=True, exist_ok=True)
        self.exec_root.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        with open(self.log, "ab") as log:
            self._process = subprocess.Popen(
                [
                    dockerd,
                    "--bridge=none",
                    "--iptables=false",
                    "--ip6tables=false",
                    f"--data-root={self.state / 'data'}",
                    f"--exec-root={self.exec_root}",
                    f"--pidfile={self.exec_root / 'dockerd.pid'}",
                    f"--host={self.host}",
                ],
                stdout=log,
                stderr=log,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the tests, not the engine
            )
        deadline = time.monotonic() + self.start_timeout
        while not self.answering():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace").splitlines()[-15:]
                raise EngineUnavailable("dockerd did not come up:\n" + "\n".join(tail))
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        """Stop the engine this object started (one it found running is left alone)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> DockerEngine:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _stop_running(engine: DockerEngine) -> None:
    """Stop an engine started by an earlier `start` command (found by its pidfile)."""
    pidfile = engine.exec_root / "dockerd.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    engine = DockerEngine()
    command = argv[0] if argv else "status"
    if command == "start":
        engine.start()
        engine._process = None  # keep it running after this command
        print(f"export DOCKER_HOST={engine.host}")
    elif command == "stop":
        _stop_running(engine)
    elif command == "status":
        print(f"{engine.host}: {'answering' if engine.answering() else 'not running'}")
    else:
        print("usage: python -m ops.engine start|stop|status", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
