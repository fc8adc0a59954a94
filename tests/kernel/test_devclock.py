"""One clock for every process of a development platform: moved by writing one file."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from tandem_kernel.devclock import SharedClock
from tandem_kernel.settings import ServiceSettings


def test_every_reader_of_the_file_moves_when_it_is_advanced(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    first, second = SharedClock(path), SharedClock(path)
    assert abs(first.now() - datetime.now(UTC)) < timedelta(seconds=1)  # no file: the wall clock

    SharedClock.advance_file(path, timedelta(days=7))
    SharedClock.advance_file(path, timedelta(days=7))

    for clock in (first, second):
        assert abs(clock.now() - (datetime.now(UTC) + timedelta(days=14))) < timedelta(seconds=1)


def test_another_process_sees_the_time_a_simulation_set(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    SharedClock.set_file(path, datetime(2027, 3, 1, 9, 0, tzinfo=UTC))

    code = f"import pathlib, tandem_kernel.devclock as d; print(d.SharedClock(pathlib.Path({str(path)!r})).now())"
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seen = datetime.fromisoformat(answer.stdout.strip())

    assert abs(seen - datetime(2027, 3, 1, 9, 0, tzinfo=UTC)) < timedelta(seconds=5)


def test_a_service_reads_the_shared_clock_when_told_to_and_production_refuses_it(tmp_path: Path) -> None:
    from kernel.counter_service import service
    from tandem_kernel.runtime import Runtime

    path = tmp_path / "clock"
    SharedClock.set_file(path, datetime(2027, 1, 4, 8, 0, tzinfo=UTC))
    runtime = Runtime(service, ServiceSettings(service_name="counter", dev_clock_file=str(path)))
    assert runtime.clock.now().date().isoformat() == "2027-01-04"

    with pytest.raises(ValidationError, match="DEV_CLOCK_FILE"):
        ServiceSettings(
            service_name="counter",
            environment="production",
            dev_clock_file=str(path),
            personal_data_master_key="a-real-secret-of-enough-length",
            kafka_idempotent_producer=True,
            oidc_issuer="https://id.example.com",
            oidc_audience="tandem",
        )
