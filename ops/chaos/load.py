"""The load: API commands as HR and participants would send them, each kept in a ledger with its outcome.

Every command carries an Idempotency-Key and is retried with the same key (on another replica) when
it gets no answer or a 5xx, until it is answered or `patience` runs out — what a careful client of
Tandem does. The ledger says which commands were acknowledged (2xx), refused (4xx) or never answered
(`unknown`: it may or may not have happened, so the invariants allow it either way, but never twice).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, as_csv, sample_people

from ops.chaos.platform import Platform

__all__ = ["Command", "Ledger", "Load"]


@dataclass
class Command:
    kind: str
    target: str  # what it acts on: a participant id, a pair id and side, a program id
    outcome: str = "unknown"  # acknowledged | refused | unknown
    answer: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0


@dataclass
class Ledger:
    commands: list[Command] = field(default_factory=list)

    def of(self, kind: str, outcome: str = "acknowledged") -> list[Command]:
        return [c for c in self.commands if c.kind == kind and c.outcome == outcome]

    def counts(self) -> Counter[str]:
        return Counter(c.outcome for c in self.commands)

    def retried(self) -> int:
        return sum(1 for c in self.commands if c.attempts > 1)


class Load:
    """Steady commands at about `rate` per second: enrollments, profile changes, withdrawals, and
    pairing rounds whose proposals both people accept."""

    def __init__(self, platform: Platform, rng: random.Random, rate: float, patience: float = 90.0) -> None:
        self.platform, self.rng, self.rate, self.patience = platform, rng, rate, patience
        self.ledger = Ledger()
        self.program_id = ""
        self.people = sample_people(5000, seed=rng.randrange(1 << 30), first_employee=10_001)
        self.enrolled: dict[str, dict[str, Any]] = {}  # participant id -> the person
        self.withdrawn: set[str] = set()
        self.busy: set[str] = set()
        self.answered_pairs: set[str] = set()
        self.rounds_requested = 0
        self.imported: list[dict[str, Any]] = []
        self.sessions_to_cancel: list[tuple[str, str]] = []  # (pair, senior): the most common failure
        self._http = httpx.AsyncClient(timeout=10)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would bury the faults

    async def close(self) -> None:
        await self._http.aclose()

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        command: Command,
        *,
        body: Any = None,
        login: str = "hr-admin",
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Command:
        self.ledger.commands.append(command)
        key = str(uuid.uuid4())
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            command.attempts += 1
            url = self.rng.choice(self.platform.urls(service)) + path
            try:
                headers = {**await self.platform.tokens.headers(login), "Idempotency-Key": key}
                if content_type:
                    headers["Content-Type"] = content_type
                response = await self._http.request(method, url, json=body, content=content, headers=headers)
            except (httpx.HTTPError, OSError):
                await asyncio.sleep(0.3)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                await asyncio.sleep(0.3)
                continue
            command.outcome = "acknowledged" if response.is_success else "refused"
            command.answer = response.json() if response.content else {}
            command.answer["_status"] = response.status_code
            return command
        return command

    async def open_program(self) -> None:
        today = date.today()
        program = {
            **DEMO_PROGRAM,
            "name": "Chaos cohort",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=300)).isoformat(),
            "capacity": 5000,
        }
        created = await self.send("enrollment", "POST", "/programs", Command("create_program", "-"), body=program)
        assert created.outcome == "acknowledged", created.answer
        self.program_id = created.answer["program_id"]
        opened = await self.send(
            "enrollment", "POST", f"/programs/{self.program_id}/open", Command("open_program", self.program_id)
        )
        assert opened.outcome == "acknowledged", opened.answer

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: commands at about `rate`/s (several in flight), a pairing round every 10 s."""
        in_flight: set[asyncio.Task[object]] = set()

        def launch(work: Coroutine[Any, Any, object]) -> None:
            task = asyncio.create_task(work)
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        next_round = time.monotonic() + 10
        next_import = time.monotonic() + 5
        while not stop.is_set():
            if time.monotonic() >= next_import:
                next_import = time.monotonic() + 15
                launch(self._import())
            if len(in_flight) < 16:
                launch(self._one())
            if time.monotonic() >= next_round:
                next_round = time.monotonic() + 10
                launch(self._round_and_answers())
            if self.sessions_to_cancel:
                launch(self._cancel_next_session(*self.sessions_to_cancel.pop()))
            await asyncio.sleep(1 / self.rate)
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _one(self) -> object:
        roll = self.rng.random()
        # One command at a time per person, as people act: the ledger can then say what each one's events must be.
        idle = [p for p in self.enrolled if p not in self.withdrawn and p not in self.busy]
        if roll < 0.6 or len(idle) < 10:
            return await self._enroll()
        participant = self.rng.choice(idle)
        self.busy.add(participant)
        try:
            return await self._change(participant, roll)
        finally:
            self.busy.discard(participant)

    async def _change(self, participant: str, roll: float) -> Command:
        if roll < 0.95:
            return await self.send(
                "enrollment",
                "PATCH",
                f"/programs/{self.program_id}/enrollments/{participant}",
                Command("update_profile", participant),
                body={"years_in_company": self._another_seniority(participant)},
            )
        self.withdrawn.add(participant)
        return await self.send(
            "enrollment",
            "POST",
            f"/programs/{self.program_id}/enrollments/{participant}/withdraw",
            Command("withdraw", participant),
        )

    def _another_seniority(self, participant: str) -> float:
        """A value the person does not have yet: a profile change that changes nothing appends nothing."""
        person = self.enrolled[participant]
        low, high = (0.5, 5.5) if person["role"] == "junior" else (8.0, 30.0)
        while (years := round(self.rng.uniform(low, high), 1)) == person["years_in_company"]:
            pass
        person["years_in_company"] = years
        return years

    async def _enroll(self) -> Command:
        person = self.people.pop()
        command = await self.send(
            "enrollment",
            "POST",
            f"/programs/{self.program_id}/enrollments",
            Command("enroll", person["employee_id"]),
            body=person,
        )
        if command.outcome == "acknowledged":
            self.enrolled[command.answer["participant_id"]] = person
        return command

    async def _import(self) -> Command:
        """HR imports a small file of new people: a background job, carried out by whichever replica is alive."""
        people = [self.people.pop() for _ in range(20)]
        command = await self.send(
            "enrollment",
            "POST",
            f"/programs/{self.program_id}/imports",
            Command("import", self.program_id),
            content=as_csv(people).encode(),
            content_type="text/csv",
        )
        if command.outcome == "acknowledged":
            command.target = command.answer["job_id"]
            self.imported.extend(people)
        return command

    async def _cancel_next_session(self, pair_id: str, senior_id: str) -> None:
        """The senior cancels the pair's next session (once the sessions service has planned them)."""
        person = self.enrolled.get(senior_id)
        if person is None:
            return
        login = self.platform.tokens.person(
            f"chaos-{person['employee_id']}", roles=["participant"], employee_id=person["employee_id"]
        )
        for _ in range(30):
            await asyncio.sleep(1)
            try:
                url = self.rng.choice(self.platform.urls("sessions"))
                shown = await self._http.get(
                    f"{url}/pairs/{pair_id}/sessions", headers=await self.platform.tokens.headers(login)
                )
            except (httpx.HTTPError, OSError):
                continue
            planned = (
                [s for s in shown.json().get("sessions", []) if s["status"] == "scheduled"] if shown.is_success else []
            )
            if planned:
                await self.send(
                    "sessions",
                    "POST",
                    f"/sessions/{planned[0]['session_id']}/cancel",
                    Command("cancel_session", planned[0]["session_id"]),
                    body={"participant_id": senior_id, "reason": "workload"},
                    login=login,
                )
                return

    async def _round_and_answers(self) -> None:
        requested = await self.send(
            "pairing",
            "POST",
            f"/programs/{self.program_id}/rounds",
            Command("request_round", self.program_id),
            body={"kind": "incremental" if self.rounds_requested else "full"},
        )
        self.rounds_requested += 1
        if requested.outcome != "acknowledged":
            return
        round_id = requested.answer.get("round_id")
        requested.target = str(round_id)
        proposals: list[dict[str, Any]] = []
        for _ in range(60):
            await asyncio.sleep(1)
            try:
                url = self.rng.choice(self.platform.urls("pairing"))
                shown = await self._http.get(
                    f"{url}/rounds/{round_id}",
                    headers=await self.platform.tokens.headers("hr-admin"),
                )
            except (httpx.HTTPError, OSError):
                continue
            if shown.status_code == 200 and shown.json().get("status") != "running" and shown.json().get("proposals"):
                proposals = shown.json()["proposals"]
                break
        for proposal in proposals[:4]:  # both people accept, each as themselves
            if proposal["pair_id"] in self.answered_pairs:
                continue
            self.answered_pairs.add(proposal["pair_id"])
            for side in ("junior_id", "senior_id"):
                participant = proposal[side]
                person = self.enrolled.get(participant)
                if person is None:
                    continue
                login = self.platform.tokens.person(
                    f"chaos-{person['employee_id']}", roles=["participant"], employee_id=person["employee_id"]
                )
                await self.send(
                    "pairing",
                    "POST",
                    f"/proposals/{proposal['pair_id']}/accept",
                    Command("accept", f"{proposal['pair_id']}/{participant}"),
                    body={"participant_id": participant},
                    login=login,
                )
            if "sessions" in self.platform.replicas and self.rng.random() < 0.5:
                self.sessions_to_cancel.append((proposal["pair_id"], proposal["senior_id"]))
