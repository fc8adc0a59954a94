"""The chart rendered once per environment for every chart test (Helm's engine takes ~0.5 s a render)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from ops.chart import ENVIRONMENTS, Manifest, render, values_of


@cache
def rendered(environment: str) -> tuple[Manifest, ...]:
    return tuple(render(values_of(environment)))


@pytest.fixture(params=sorted(ENVIRONMENTS))
def environment(request: pytest.FixtureRequest) -> str:
    """Each environment the chart installs in: default, staging, production."""
    name: str = request.param
    return name


@pytest.fixture
def manifests(environment: str) -> tuple[Manifest, ...]:
    """Every manifest the chart renders for `environment` (hooks and tests included)."""
    return rendered(environment)


def of_kind(manifests: tuple[Manifest, ...], kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def pod_spec(manifest: Manifest) -> dict[str, Any]:
    """The pod spec of a Deployment, a Job or a Pod."""
    spec: dict[str, Any] = manifest["spec"]
    return spec if manifest["kind"] == "Pod" else spec["template"]["spec"]


def selects(selector: dict[str, str]) -> Callable[[dict[str, str]], bool]:
    """Whether a matchLabels selector selects pods with these labels."""
    return lambda labels: all(labels.get(key) == value for key, value in selector.items())
