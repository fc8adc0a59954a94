"""Policy scanners over what we ship: checkov (offline) over every environment's rendered manifests
and the Dockerfile, hadolint over the Dockerfile, and our own checks of what they do not cover."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ops.chart import ENVIRONMENTS, render_templates, values_of
from ops.engine import REPO

CHECKOV = REPO / ".tandem" / "checkov" / "bin" / "checkov"
HADOLINT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "hadolint"

# The checks checkov may fail, on which resources, and why that is right: one line each.
ACCEPTED = {
    (
        "CKV_K8S_43",
        "*",
    ): "digests are set per release (services.<name>.image.digest): the chart's values cannot know them",
    (
        "CKV_K8S_8",
        "Pod.*.tandem-test-readiness",
    ): "the one-shot helm test pod exits in seconds: no liveness probe to restart it",
    ("CKV_K8S_9", "Pod.*.tandem-test-readiness"): "nothing routes traffic to the helm test pod: no readiness to report",
    (
        "CKV_DOCKER_7",
        "*Dockerfile.FROM",
    ): "the base is a build argument (checkov cannot resolve it); its default's tag is checked below",
}


def accepted(check: str, resource: str) -> bool:
    return any(check == c and fnmatch.fnmatchcase(resource, pattern) for c, pattern in ACCEPTED)


@pytest.fixture(scope="module")
def checkov_failures(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str]]:
    """(check, resource, file) of every failed check, over all environments and the Dockerfile."""
    manifests = tmp_path_factory.mktemp("rendered")
    for environment in ENVIRONMENTS:
        for path, text in render_templates(values_of(environment)).items():
            if path.endswith(".yaml") and text.strip():
                output = manifests / environment / path
                output.parent.mkdir(parents=True, exist_ok=True)
                output.write_text(text)
    shutil.copy(REPO / "Dockerfile", manifests / "Dockerfile")
    assert CHECKOV.exists(), "checkov is missing: run `make deploy-tools`"
    command = [str(CHECKOV), "--directory", str(manifests), "--framework", "kubernetes", "dockerfile"]
    scan = subprocess.run(
        [*command, "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "BC_SKIP_MAPPING": "TRUE", "HOME": str(manifests)},
        timeout=300,
    )
    reports = json.loads(scan.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {report["check_type"] for report in reports} == {"kubernetes", "dockerfile"}, scan.stderr[-2000:]
    assert all(report["summary"]["passed"] > 0 and report["summary"]["parsing_errors"] == 0 for report in reports)
    return [
        (failure["check_id"], failure["resource"], failure["file_path"])
        for report in reports
        for failure in report["results"]["failed_checks"]
    ]


def test_checkov_finds_nothing_but_what_is_accepted_with_a_reason(checkov_failures: list[tuple[str, str, str]]) -> None:
    assert [failure for failure in checkov_failures if not accepted(failure[0], failure[1])] == []


def test_every_accepted_failure_still_happens(checkov_failures: list[tuple[str, str, str]]) -> None:
    """An acceptance nothing needs any more goes, so it cannot hide a new failure later."""
    for check, pattern in ACCEPTED:
        assert [f for f in checkov_failures if f[0] == check and fnmatch.fnmatchcase(f[1], pattern)], check


def test_hadolint_passes_the_dockerfile() -> None:
    lint = subprocess.run([str(HADOLINT), "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_dockerfile_defaults_to_a_tagged_slim_python_and_runs_as_a_numeric_non_root_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, flags=re.MULTILINE)
    name, _, tag = base.partition(":")
    assert name == "python" and tag.startswith("3.11-slim"), base
    final_stage = dockerfile.split("\nFROM ")[-1]
    assert re.search(r"^USER 10001:10001$", final_stage, flags=re.MULTILINE), "numeric, so runAsNonRoot can verify it"
    assert "AS build" in dockerfile and "COPY --from=build /opt/tandem /opt/tandem" in final_stage


def test_the_build_context_is_the_wheelhouse_and_the_constraints_only() -> None:
    patterns = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert patterns[0] == "*", "deny everything, then allow what the build reads"
    assert {p for p in patterns if p.startswith("!")} == {"!constraints.txt", "!build/wheelhouse/"}
