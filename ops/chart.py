"""The Helm chart, rendered by Helm's own engine (PyPI `helm-python-sdk` binds Helm's Go SDK: no
helm binary, no cluster).

    python -m ops.chart build/helm        # make helm: each environment's manifests, for review

    >>> manifests = render(values_of("production"))
    >>> sorted({m["kind"] for m in manifests})[:3]
    ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler']
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import helm_python
import yaml

from ops.engine import REPO

__all__ = ["CHART", "ENVIRONMENTS", "KUBE_VERSION", "lint", "render", "render_templates", "values_of"]

CHART = REPO / "helm" / "tandem"
# Each environment's values on top of the chart's defaults ("default": the defaults alone).
ENVIRONMENTS = {
    "default": None,
    "staging": REPO / "deploy" / "values-staging.yaml",
    "production": REPO / "deploy" / "values-production.yaml",
}
# The Kubernetes the chart is linted and validated for: a current release.
KUBE_VERSION = "1.37.0"
RELEASE = "tandem"
NAMESPACE = "tandem"

Manifest = dict[str, Any]


def values_of(environment: str) -> dict[str, Any]:
    """The values an environment installs with, on top of the chart's defaults."""
    path = ENVIRONMENTS[environment]
    return {} if path is None else dict(yaml.safe_load(path.read_text()) or {})


def render_templates(values: dict[str, Any], *, upgrade: bool = False) -> dict[str, str]:
    """Each template's output, as `helm template` prints it (hooks and tests included)."""
    with helm_python.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=not upgrade, is_upgrade=upgrade)


def render(values: dict[str, Any], *, upgrade: bool = False) -> list[Manifest]:
    """Every manifest the chart renders with `values`, parsed."""
    manifests: list[Manifest] = []
    for path, text in sorted(render_templates(values, upgrade=upgrade).items()):
        if path.endswith("NOTES.txt"):
            continue
        manifests.extend(document for document in yaml.safe_load_all(text) if document)
    return manifests


def lint(values: dict[str, Any]) -> dict[str, Any]:
    """`helm lint --strict` of the chart with `values`, for KUBE_VERSION."""
    return helm_python.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{KUBE_VERSION}")


def main(argv: list[str]) -> int:
    target = Path(argv[0] if argv else REPO / "build" / "helm")
    for environment in ENVIRONMENTS:
        folder = target / environment
        shutil.rmtree(folder, ignore_errors=True)
        for path, text in render_templates(values_of(environment)).items():
            if text.strip():
                output = folder / path
                output.parent.mkdir(parents=True, exist_ok=True)
                output.write_text(text)
        print(f"{environment}: {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
