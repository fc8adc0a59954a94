"""Values the chart must refuse, one file each under bad-values/: its first line says what the error
names (`# rejects: ...`), its second why the value is wrong. The schema refuses what it can
express; the chart's own checks (`fail` in _helpers.tpl) the rest, before anything is applied."""

from __future__ import annotations

from pathlib import Path

import helm_python
import pytest
import yaml

from ops.chart import render

BAD_VALUES = sorted((Path(__file__).parent / "bad-values").glob("*.yaml"))


def test_there_are_bad_values_to_refuse() -> None:
    assert len(BAD_VALUES) >= 15


@pytest.mark.parametrize("path", BAD_VALUES, ids=[path.stem for path in BAD_VALUES])
def test_the_chart_refuses(path: Path) -> None:
    rejects, why = path.read_text().splitlines()[:2]
    assert rejects.startswith("# rejects: ") and why.startswith("# why: "), f"{path.name}: say what and why"
    with pytest.raises((helm_python.HelmValuesError, helm_python.HelmRenderError)) as refused:
        render(yaml.safe_load(path.read_text()))
    assert rejects.removeprefix("# rejects: ") in str(refused.value)
