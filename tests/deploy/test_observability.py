"""The alert rules and dashboards: promtool checks and unit-tests the rules, and every series they
ask for is one the kernel exposes (tandem_kernel.metrics), with labels it has."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tandem_kernel.metrics
import yaml
from prometheus_client import Counter, Gauge, Histogram

from ops.chart import CHART

OBSERVABILITY = CHART / "files" / "observability"
ALERTS = OBSERVABILITY / "alerts.yaml"
DASHBOARDS = sorted((OBSERVABILITY / "dashboards").glob("*.json"))
# Labels every scraped series carries: Prometheus' and the chart's ServiceMonitor's (job, system).
TARGET_LABELS = {"namespace", "pod", "instance", "job", "system", "service", "container", "endpoint", "le"}
SUFFIXES = {Counter: ("_total",), Gauge: ("",), Histogram: ("_bucket", "_count", "_sum")}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: run `make deploy-tools` (Debian's prometheus package)")
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)


def test_the_rules_file_is_valid() -> None:
    check = promtool("check", "rules", str(ALERTS))
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_alerts_fire_when_they_should_and_only_then() -> None:
    run = promtool("test", "rules", str(Path(__file__).parent / "alerts.test.yaml"))
    assert run.returncode == 0, run.stdout + run.stderr


def kernel_series() -> dict[str, set[str]]:
    """Each series name the kernel's metrics produce, with their labels."""
    series = {"up": set()}
    for metric in vars(tandem_kernel.metrics).values():
        for kind, suffixes in SUFFIXES.items():
            if isinstance(metric, kind):
                name = metric._name  # prometheus_client keeps no public name
                for suffix in suffixes:
                    series[name + suffix] = set(metric._labelnames) | ({"le"} if suffix == "_bucket" else set())
    return series


def expressions() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    for path in DASHBOARDS:
        found += [target["expr"] for panel in json.loads(path.read_text())["panels"] for target in panel["targets"]]
    return found


def test_every_series_the_rules_and_dashboards_ask_for_is_exposed_with_those_labels() -> None:
    known = kernel_series()
    assert {"tandem_relay_lag_seconds", "tandem_dead_letters_total", "tandem_handler_seconds_bucket"} <= set(known)
    asked = expressions()
    assert len(asked) >= 10
    for expression in asked:
        names = set(re.findall(r"\b(tandem_[a-z_]+|up)\b(?=\s*[{\[)]|\s*$)", expression))
        assert names, expression
        assert names <= set(known), expression
        labels = set(re.findall(r"\b([a-z_]+)\s*(?:=~|!=|=)", expression))
        for grouping in re.findall(r"\bby\s*\(([^)]*)\)", expression):
            labels |= {label.strip() for label in grouping.split(",")}
        allowed = TARGET_LABELS.union(*(known[name] for name in names))
        assert labels <= allowed, f"{expression}: {labels - allowed}"


def test_every_alert_says_how_bad_and_what_to_do() -> None:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_each_service_has_its_dashboard_generated_from_the_one_definition() -> None:
    from tandem_kernel.cli import services

    from ops.dashboards import SERVICES, render

    assert set(services()) <= set(SERVICES), "add the new service to ops/dashboards.py and run it"
    for service in SERVICES:
        path = OBSERVABILITY / "dashboards" / f"tandem-{service}.json"
        assert path.read_text() == render(service), f"{path.name} is stale: python -m ops.dashboards"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_a_dashboard_is_well_formed(path: Path) -> None:
    board = json.loads(path.read_text())
    service = board["uid"].removeprefix("tandem-")
    cells: set[tuple[int, int]] = set()

    assert {"title", "uid", "panels", "templating", "schemaVersion"} <= set(board)
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            assert 'namespace="$namespace"' in target["expr"]
            if service != "overview":
                assert f'job="{service}"' in target["expr"], target["expr"]
    uids = [json.loads(other.read_text())["uid"] for other in DASHBOARDS]
    assert len(set(uids)) == len(uids)
