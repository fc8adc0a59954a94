"""One Grafana dashboard per service, written from one definition into the chart's files (the chart
ships every `files/observability/dashboards/*.json` as a ConfigMap for Grafana's sidecar).

    python -m ops.dashboards        # regenerate; tests/deploy/test_observability.py checks they are current

Every panel reads what the kernel exposes on each service's /metrics (`tandem_kernel.metrics`):
readiness, HTTP requests, errors and latency per route, requests in flight and shed, relay lag,
consumer lag, handler latency, dead letters, read-model lag and background jobs; `job` is the
service (the chart's ServiceMonitor).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ops.engine import REPO

__all__ = ["DASHBOARDS_DIR", "SERVICES", "dashboard", "write"]

DASHBOARDS_DIR = REPO / "helm" / "tandem" / "files" / "observability" / "dashboards"
SERVICES = ("enrollment", "pairing", "sessions", "evaluation", "reporting")

_SELECT = 'system="tandem", namespace="$namespace", job="{service}"'

# (title, panel type, expression, legend, unit): two panels a row, 12 columns wide each.
_PANELS: tuple[tuple[str, str, str, str, str], ...] = (
    ("Ready replicas", "stat", "sum (tandem_ready{{{s}}})", "ready", "none"),
    ("Pods up", "stat", "sum (up{{{s}}})", "up", "none"),
    (
        "Requests per second, by route",
        "timeseries",
        "sum by (route) (rate(tandem_http_requests_total{{{s}}}[5m]))",
        "{{route}}",
        "reqps",
    ),
    (
        "Share of requests failing (5xx)",
        "timeseries",
        'sum (rate(tandem_http_requests_total{{{s}, status=~"5.."}}[5m]))'
        " / sum (rate(tandem_http_requests_total{{{s}}}[5m]))",
        "5xx",
        "percentunit",
    ),
    (
        "Request latency, 99th percentile, by route",
        "timeseries",
        "histogram_quantile(0.99, sum by (route, le) (rate(tandem_http_request_seconds_bucket{{{s}}}[5m])))",
        "{{route}}",
        "s",
    ),
    (
        "Requests in flight, by pod",
        "timeseries",
        "sum by (pod) (tandem_http_in_flight{{{s}}})",
        "{{pod}}",
        "none",
    ),
    (
        "Requests shed (503 Overloaded) per second",
        "timeseries",
        "sum (rate(tandem_http_shed_total{{{s}}}[5m]))",
        "shed",
        "reqps",
    ),
    (
        "Relay lag (events not yet acknowledged by the broker)",
        "timeseries",
        "max by (topic) (tandem_relay_lag_events{{{s}}})",
        "{{topic}}",
        "none",
    ),
    (
        "Relay lag (seconds)",
        "timeseries",
        "max by (topic) (tandem_relay_lag_seconds{{{s}}})",
        "{{topic}}",
        "s",
    ),
    (
        "Consumer lag (messages behind), by subscription",
        "timeseries",
        "max by (consumer, topic) (tandem_consumer_lag_messages{{{s}}})",
        "{{consumer}} {{topic}}",
        "none",
    ),
    (
        "Handler latency, 99th percentile",
        "timeseries",
        "histogram_quantile(0.99, sum by (consumer, le) (rate(tandem_handler_seconds_bucket{{{s}}}[5m])))",
        "{{consumer}}",
        "s",
    ),
    (
        "Messages handled per second, by subscription and outcome",
        "timeseries",
        "sum by (consumer, outcome) (rate(tandem_handler_seconds_count{{{s}}}[5m]))",
        "{{consumer}} {{outcome}}",
        "ops",
    ),
    (
        "Batches rolled back and handled one by one (last 15 minutes)",
        "timeseries",
        "sum by (consumer) (increase(tandem_consumer_batches_split_total{{{s}}}[15m]))",
        "{{consumer}}",
        "none",
    ),
    (
        "Dead letters (last 15 minutes)",
        "timeseries",
        "sum by (consumer, topic) (increase(tandem_dead_letters_total{{{s}}}[15m]))",
        "{{consumer}} {{topic}}",
        "none",
    ),
    (
        "Read models: events not applied yet",
        "timeseries",
        "max by (projection) (tandem_projection_lag_events{{{s}}})",
        "{{projection}}",
        "none",
    ),
    (
        "Background jobs, by state",
        "timeseries",
        "max by (kind, state) (tandem_jobs{{{s}}})",
        "{{kind}} {{state}}",
        "none",
    ),
)


def dashboard(service: str) -> dict[str, Any]:
    """The dashboard of one service."""
    select = _SELECT.format(service=service)
    panels = []
    for index, (title, kind, expression, legend, unit) in enumerate(_PANELS):
        height = 4 if kind == "stat" else 8
        row_y = sum(4 if p[1] == "stat" else 8 for p in _PANELS[: index - index % 2 : 2])
        panels.append(
            {
                "id": index + 1,
                "type": kind,
                "title": title,
                "gridPos": {"x": 12 * (index % 2), "y": row_y, "w": 12, "h": height},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [{"refId": "A", "expr": expression.format(s=select), "legendFormat": legend}],
            }
        )
    return {
        "title": f"Tandem — {service}",
        "uid": f"tandem-{service}",
        "description": f"The {service} service, from its /metrics. Generated by ops/dashboards.py.",
        "tags": ["tandem", service],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
                {
                    "name": "namespace",
                    "label": "Namespace",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": 'label_values(up{system="tandem"}, namespace)',
                    "refresh": 2,
                },
            ]
        },
        "panels": panels,
    }


def render(service: str) -> str:
    return json.dumps(dashboard(service), indent=1, ensure_ascii=False) + "\n"


def write(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    written = []
    for service in SERVICES:
        path = directory / f"tandem-{service}.json"
        path.write_text(render(service))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(REPO), file=sys.stderr)
