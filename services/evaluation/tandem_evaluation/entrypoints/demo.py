"""Demo data for `make run` (filled in below)."""

from __future__ import annotations

from typing import Any

__all__ = ["load_demo"]


async def load_demo(urls: dict[str, str], sign_in: Any) -> dict[str, str]:
    return {}
