"""Reports as CSV: a list of records becomes a table (nested fields joined with dots); a single
record becomes `figure,value` rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from fastapi.encoders import jsonable_encoder

__all__ = ["to_csv"]


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            label = inner.get("stage") or inner.get("skill") if isinstance(inner, dict) else None
            yield from _flat(inner, f"{prefix}.{label or index}")
    else:
        yield prefix, value


def to_csv(report: Any) -> str:
    data = jsonable_encoder(report)
    out = io.StringIO()
    writer = csv.writer(out)
    if isinstance(data, list):
        rows = [dict(_flat(item)) for item in data]
        columns = list(dict.fromkeys(column for row in rows for column in row))
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(column) is None else row.get(column) for column in columns])
    else:
        writer.writerow(["figure", "value"])
        for name, value in _flat(data):
            writer.writerow([name, "" if value is None else value])
    return out.getvalue()
