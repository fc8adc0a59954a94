"""Demo for `make run`: reporting owns no data of its own; it follows what the other services' demos
publish. Once it has heard of their programs, print where the dashboard is, signed in as HR."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:  # the demo runs in development only
    from tandem_kernel.devrun import DemoSignIn

__all__ = ["load_demo"]

WAIT_SECONDS = 30.0


async def load_demo(urls: dict[str, str], sign_in: DemoSignIn) -> dict[str, str]:
    """Wait (bounded) until reporting knows a program, then print the dashboard's address."""
    url = urls["reporting"]
    headers = {"Authorization": f"Bearer {sign_in.hr}"}
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as http:
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            if (await http.get("/programs")).json().get("report"):
                break
            await asyncio.sleep(0.5)
    # The token travels in the fragment: never sent to a server, dropped from the address bar by the page.
    print(f"  dashboard    {url}/dashboard/#token={sign_in.hr}")
    print(f"  ops page     {url}/dashboard/ops.html (paste the ops token printed below)")
    return {}
