"""Each service answers what its OpenAPI document says, for generated requests (schemathesis).

Bounded: a fixed seed and `TANDEM_FUZZ_EXAMPLES` examples per operation (10 here; `make fuzz` runs
more), signed in as HR (a valid token: the requests reach the handlers; a route HR may not call
answers its documented 403). NUL characters and other hostile strings included. Every phase runs
(examples, coverage, fuzzing, stateful), positive and negative data, over real HTTP, and every
answer must be no 5xx, a documented status with its documented media type (every error
application/problem+json) and a body matching its schema. The run's summary is printed and kept in
`.tandem/fuzz/<service>.txt`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz.conftest import SERVICES, Platform

pytestmark = [pytest.mark.slow, pytest.mark.broker]

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = int(os.environ.get("TANDEM_FUZZ_EXAMPLES", "10"))
SEED = 2026
REPORTS = Path(".tandem/fuzz")


def _config(path: Path, parameters: dict[str, str]) -> Path:
    lines = ["[parameters]", *(f"{json.dumps(name)} = {json.dumps(value)}" for name, value in parameters.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_is_what_the_openapi_document_says(platform: Platform, service: str, tmp_path: Path) -> None:
    config = _config(tmp_path / "schemathesis.toml", platform.seeded[service])
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "run",
        f"{platform.urls[service]}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--header",
        f"Authorization: Bearer {platform.token}",
        "--request-timeout",
        "10",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)

    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{service}.txt").write_text(run.stdout + run.stderr)
    summary = re.search(r"(\d+) generated, (.*)", run.stdout)
    print(f"\nschemathesis {service}: {summary.group(0) if summary else 'no summary'}")
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert summary is not None and int(summary.group(1)) > 0
