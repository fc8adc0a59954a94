"""Demo data for `make run`: once pairing's pool holds the open programs' approved people (enrollment
loads them first; its events reach pairing over the broker), a full round for each, through the API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # the demo runs in development only: no import of its tools at run time
    from tandem_kernel.devrun import DemoSignIn

__all__ = ["load_demo"]

WAIT_SECONDS = 30.0


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_SECONDS) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.5)
    return False


async def load_demo(urls: dict[str, str], sign_in: DemoSignIn) -> dict[str, str]:
    """Pair every open program of enrollment's (`urls["enrollment"]`) through `urls["pairing"]`, as HR."""
    if "enrollment" not in urls:
        return {}
    headers = {"Authorization": f"Bearer {sign_in.hr}"}
    async with (
        httpx.AsyncClient(base_url=urls["enrollment"], timeout=30, headers=headers) as enrollment,
        httpx.AsyncClient(base_url=urls["pairing"], timeout=30, headers=headers) as pairing,
    ):
        programs: list[dict[str, Any]] = []

        async def open_programs_listed() -> bool:
            # Enrollment's list is its read model, a moment behind the demo data it just loaded.
            programs[:] = (await enrollment.get("/programs", params={"status": "open"})).json()["items"]
            return bool(programs)

        if not await _until(open_programs_listed):
            print("  enrollment lists no open program yet: no pairing round")
        for program in programs:
            round_ = await _pair(pairing, program["program_id"], program["participants"]["approved"])
            if round_.get("status") == "completed":
                await _accept_most(enrollment, pairing, program["program_id"], round_, sign_in)
    return {}


async def _accept_most(
    enrollment: httpx.AsyncClient, pairing: httpx.AsyncClient, program_id: str, round_: dict[str, Any], sign_in: Any
) -> None:
    """Both people of most proposals accept, each as themselves, so the demo has active pairs (the
    last proposal stays open, to show one)."""
    listed = (await enrollment.get(f"/programs/{program_id}/participants", params={"limit": 500})).json()["items"]
    employees = {person["participant_id"]: person["employee_id"] for person in listed}
    activated = 0
    for proposal in round_.get("proposals", [])[:-1]:
        for side in ("junior_id", "senior_id"):
            token = await sign_in.person(employees[proposal[side]])
            answered = await pairing.post(
                f"/proposals/{proposal['pair_id']}/accept",
                json={"participant_id": proposal[side]},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"demo:accept:{proposal[side]}"},
            )
            activated += answered.status_code == 200 and answered.json()["status"] == "active"
    print(f"  program {program_id}: {activated} pairs active (both accepted)")


async def _pair(pairing: httpx.AsyncClient, program_id: str, approved: int) -> dict[str, Any]:
    async def pool_filled() -> bool:
        response = await pairing.get(f"/programs/{program_id}/pool")
        if response.status_code != 200:
            return False
        pool = response.json()
        return bool(pool["juniors"].get("approved", 0) + pool["seniors"].get("approved", 0) >= approved)

    if not await _until(pool_filled):
        print(f"  program {program_id}: pairing has not heard of all its participants yet; no round")
        return {}
    requested = await pairing.post(
        f"/programs/{program_id}/rounds", json={"kind": "full"}, headers={"Idempotency-Key": f"demo:round:{program_id}"}
    )
    if requested.status_code != 202:
        print(f"  program {program_id}: no round ({requested.json().get('detail')})")
        return {}
    url = str(pairing.base_url.join(requested.headers["location"]))  # absolute: printed for people to open
    round_: dict[str, Any] = {}

    async def finished() -> bool:
        round_.update((await pairing.get(url)).json())
        return bool(round_["status"] != "running")

    await _until(finished)
    print(f"  program {program_id}: round {round_['status']}, {round_.get('matched')} pairs proposed ({url})")
    await _until(lambda: _listed(pairing, url, round_))
    return round_


async def _listed(pairing: httpx.AsyncClient, url: str, round_: dict[str, Any]) -> bool:
    round_.update((await pairing.get(url, params={"limit": 1000})).json())
    return len(round_["proposals"]) == (round_.get("matched") or 0)
