"""Demo data for `make run`: once pairing's pool holds the open programs' approved people (enrollment
loads them first; its events reach pairing over the broker), a full round for each, through the API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

__all__ = ["load_demo"]

WAIT_SECONDS = 30.0


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_SECONDS) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.5)
    return False


async def load_demo(urls: dict[str, str], token: str) -> dict[str, str]:
    """Pair every open program of enrollment's (`urls["enrollment"]`) through `urls["pairing"]`, as HR."""
    if "enrollment" not in urls:
        return {}
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=urls["enrollment"], timeout=30, headers=headers) as enrollment,
        httpx.AsyncClient(base_url=urls["pairing"], timeout=30, headers=headers) as pairing,
    ):
        programs = (await enrollment.get("/programs", params={"status": "open"})).json()["items"]
        for program in programs:
            await _pair(pairing, program["program_id"], program["participants"]["approved"])
    return {}


async def _pair(pairing: httpx.AsyncClient, program_id: str, approved: int) -> None:
    async def pool_filled() -> bool:
        response = await pairing.get(f"/programs/{program_id}/pool")
        if response.status_code != 200:
            return False
        pool = response.json()
        return bool(pool["juniors"].get("approved", 0) + pool["seniors"].get("approved", 0) >= approved)

    if not await _until(pool_filled):
        print(f"  program {program_id}: pairing has not heard of all its participants yet; no round")
        return
    requested = await pairing.post(
        f"/programs/{program_id}/rounds", json={"kind": "full"}, headers={"Idempotency-Key": f"demo:round:{program_id}"}
    )
    if requested.status_code != 202:
        print(f"  program {program_id}: no round ({requested.json().get('detail')})")
        return
    url = str(pairing.base_url.join(requested.headers["location"]))  # absolute: printed for people to open
    round_: dict[str, Any] = {}

    async def finished() -> bool:
        round_.update((await pairing.get(url)).json())
        return bool(round_["status"] != "running")

    await _until(finished)
    print(f"  program {program_id}: round {round_['status']}, {round_.get('matched')} pairs proposed ({url})")
