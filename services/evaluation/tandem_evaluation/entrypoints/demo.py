"""Demo data for `make run`, so that the figures are not empty: once evaluation has asked the demo
program's paired people for their baseline (pairing activated their pairs; its events reach
evaluation over the broker), each answers as themselves through the API; a practice and some
progress are declared; a third of the pairs end early (through pairing, as HR), and their people
give their end assessment and the survey. Everything goes through the public APIs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # the demo runs in development only: no import of its tools at run time
    from tandem_kernel.devrun import DemoSignIn

__all__ = ["load_demo"]

WAIT_SECONDS = 40.0


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = WAIT_SECONDS) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.5)
    return False


async def load_demo(urls: dict[str, str], sign_in: DemoSignIn) -> dict[str, str]:
    """Answers for every open program of enrollment's (`urls["enrollment"]`), through `urls["evaluation"]`."""
    if "enrollment" not in urls or "pairing" not in urls:
        return {}
    hr = {"Authorization": f"Bearer {sign_in.hr}"}
    async with (
        httpx.AsyncClient(base_url=urls["enrollment"], timeout=30, headers=hr) as enrollment,
        httpx.AsyncClient(base_url=urls["pairing"], timeout=30, headers=hr) as pairing,
        httpx.AsyncClient(base_url=urls["evaluation"], timeout=30, headers=hr) as evaluation,
    ):
        programs = (await enrollment.get("/programs", params={"status": "open"})).json()["items"]
        for program in programs:
            people = (
                await enrollment.get(f"/programs/{program['program_id']}/participants", params={"limit": 500})
            ).json()["items"]
            demo = _Demo(evaluation, pairing, sign_in, random.Random(program["program_id"]))
            answered = await demo.run(program["program_id"], people)
            impact = f"{urls['evaluation']}/programs/{program['program_id']}/impact"
            print(f"  program {program['program_id']}: {answered} ({impact})")
    return {}


class _Demo:
    def __init__(
        self, evaluation: httpx.AsyncClient, pairing: httpx.AsyncClient, sign_in: Any, rng: random.Random
    ) -> None:
        self.evaluation, self.pairing, self.sign_in, self.rng = evaluation, pairing, sign_in, rng
        self.baselines: dict[str, dict[str, int]] = {}

    async def _as(self, employee_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.sign_in.person(employee_id)}"}

    async def _asked(self, participant_id: str) -> list[str]:
        response = await self.evaluation.get(f"/participants/{participant_id}/evaluation")
        return list(response.json()["asked"]["assessments"]) if response.status_code == 200 else []

    async def run(self, program_id: str, people: list[dict[str, Any]]) -> str:
        paired = await self._active_pairs(people)
        if not paired or not await _until(lambda: self._all_asked(paired, "baseline")):
            return "evaluation has not heard of the pairs yet; no answers"
        for person in people:
            if "baseline" in await self._asked(person["participant_id"]):
                await self._baseline(person)
        ending = list(paired.items())[: max(1, len(paired) // 3)]
        for pair_id, _ in ending:
            await self.pairing.post(f"/pairs/{pair_id}/end", json={"reason": "other"})
        ended = [person for _, two in ending for person in two]
        if await _until(lambda: self._all_asked({"": ended}, "end")):
            for person in ended:
                await self._end(person)
        return f"{len(self.baselines)} baselines, {len(ended)} end assessments and surveys"

    async def _active_pairs(self, people: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        by_id = {person["participant_id"]: person for person in people}
        pairs: dict[str, list[dict[str, Any]]] = {}
        for person in people:
            if person["role"] != "junior":
                continue
            found = await self.pairing.get(f"/participants/{person['participant_id']}/pairs")
            for pair in found.json().get("current", []) if found.status_code == 200 else []:
                if pair["status"] == "active" and pair["senior_id"] in by_id:
                    pairs[pair["pair_id"]] = [person, by_id[pair["senior_id"]]]
        return pairs

    async def _all_asked(self, pairs: dict[str, list[dict[str, Any]]], phase: str) -> bool:
        people = [person for two in pairs.values() for person in two]
        return all([phase in await self._asked(person["participant_id"]) for person in people])

    async def _baseline(self, person: dict[str, Any]) -> None:
        skills = [wanted["skill"] for wanted in person.get("skills_wanted", [])]
        if not skills:
            return
        levels = {skill: self.rng.randint(1, 3) for skill in skills}
        headers = await self._as(person["employee_id"])
        answered = await self.evaluation.post(
            f"/participants/{person['participant_id']}/assessments",
            json={"phase": "baseline", "ratings": [{"skill": s, "level": v} for s, v in levels.items()]},
            headers=headers,
        )
        if answered.status_code != 200:
            return
        self.baselines[person["participant_id"]] = levels
        objectives = person.get("objectives") or []
        if objectives and self.rng.random() < 0.6:
            await self.evaluation.post(
                f"/participants/{person['participant_id']}/practices",
                json={"objective": objectives[0], "adopted_on": "2026-04-01", "description": "A new weekly habit"},
                headers=headers,
            )
        if objectives:
            await self.evaluation.post(
                f"/participants/{person['participant_id']}/progress",
                json={"objective": objectives[0], "percent": self.rng.choice([20, 40, 60, 80])},
                headers=headers,
            )

    async def _end(self, person: dict[str, Any]) -> None:
        baseline = self.baselines.get(person["participant_id"])
        if baseline is None:
            return
        headers = await self._as(person["employee_id"])
        ratings = [{"skill": s, "level": min(5, v + self.rng.choice([0, 1, 1, 2]))} for s, v in baseline.items()]
        await self.evaluation.post(
            f"/participants/{person['participant_id']}/assessments",
            json={"phase": "end", "ratings": ratings},
            headers=headers,
        )
        await self.evaluation.post(
            f"/participants/{person['participant_id']}/survey",
            json={"satisfaction": self.rng.randint(3, 5), "recommendation": self.rng.choice([6, 8, 9, 9, 10])},
            headers=headers,
        )
