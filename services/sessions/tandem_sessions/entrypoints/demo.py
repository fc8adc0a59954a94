"""Demo data for `make run`: nothing to load (sessions plans the demo pairs itself when pairing
activates them, over the broker); once it has, say what was planned, through the API."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # the demo runs in development only: no import of its tools at run time
    from tandem_kernel.devrun import DemoSignIn

__all__ = ["load_demo"]

WAIT_SECONDS = 30.0


async def _planned(sessions: httpx.AsyncClient, program_id: str) -> list[dict[str, Any]]:
    """The program's pairs once sessions heard of them all and planned each (or flagged it)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    pairs: list[dict[str, Any]] = []
    while asyncio.get_running_loop().time() < deadline:
        response = await sessions.get(f"/programs/{program_id}/pairs")
        pairs = response.json() if response.status_code == 200 else []
        if pairs and all(pair["scheduled"] or pair["needs_attention"] for pair in pairs):
            return pairs
        await asyncio.sleep(0.5)
    return pairs


async def load_demo(urls: dict[str, str], sign_in: DemoSignIn) -> dict[str, str]:
    """Report the sessions planned for the active pairs of enrollment's open programs."""
    if "enrollment" not in urls:
        return {}
    headers = {"Authorization": f"Bearer {sign_in.hr}"}
    async with (
        httpx.AsyncClient(base_url=urls["enrollment"], timeout=30, headers=headers) as enrollment,
        httpx.AsyncClient(base_url=urls["sessions"], timeout=30, headers=headers) as sessions,
    ):
        programs = (await enrollment.get("/programs", params={"status": "open"})).json()["items"]
        for program in programs:
            pairs = await _planned(sessions, program["program_id"])
            scheduled = sum(pair["scheduled"] for pair in pairs)
            flagged = sum(1 for pair in pairs if pair["needs_attention"])
            print(
                f"  program {program['program_id']}: {scheduled} sessions planned for {len(pairs)} active pairs"
                f" ({flagged} need attention); see {urls['sessions']}/programs/{program['program_id']}/pairs"
            )
    return {}
