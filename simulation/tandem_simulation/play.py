"""The play: a program year of a simulated company, acted through the public HTTP APIs only, each call
with the bearer token of the person acting (HR, or the employee themselves). Time moves through the
development clock every service reads (`DEV_CLOCK_FILE`), a week at a time: nobody sleeps a week.

What the platform accepted is counted in a `GroundTruth`, which reports are checked against.
Services that are not installed are skipped, with their phases: the play does what the platform can.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import uuid4

import httpx
from tandem_kernel.devclock import SharedClock
from tandem_kernel.progress import Progress

from tandem_simulation.company import OBJECTIVES, Company, Employee, Skill, generate_company
from tandem_simulation.truth import GroundTruth

__all__ = ["STEP", "Identity", "Play", "fetch_vocabulary", "program_terms"]

T = TypeVar("T")
EFFECT_SECONDS = 60.0  # how long to wait for an effect to reach another service (a round, a read model)
CONCURRENCY = 24
RETRIES = 8  # about 40 s of backoff for a 5xx or a dropped connection
STEP = timedelta(days=7)
"""How far the play moves every service's clock at once."""


class Identity(Protocol):
    """The development OpenID provider (`tandem_kernel.devidentity.DevIdentity`)."""

    def add_accounts(self, accounts: dict[str, dict[str, Any]]) -> None: ...

    async def token(self, login: str) -> str: ...


async def fetch_vocabulary(http: httpx.AsyncClient, enrollment: str, token: str) -> list[Skill]:
    """Enrollment's skills vocabulary (`GET /vocabulary/skills`)."""
    answer = await http.get(f"{enrollment}/vocabulary/skills", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    return [Skill(code=entry["code"], area=entry["area"]) for entry in answer.json()]


class Unavailable(Exception):
    """A service kept answering 5xx (or not at all) through every retry."""


def _problem_code(response: httpx.Response) -> str:
    """The refusal's reason in a word: the problem document's `code` (or its title)."""
    try:
        problem = response.json()
    except ValueError:
        return "?"
    if not isinstance(problem, dict):
        return "?"
    detail = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d[\d:T.+-]*", "…", str(problem.get("detail", "")))[:80]
    return f"{problem.get('code') or problem.get('title') or '?'}: {detail}"


class Refused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
        self.status = response.status_code


class Play:
    """One program played with `size` employees over `weeks` weeks, against `urls` (service -> base URL)."""

    def __init__(
        self,
        urls: dict[str, str],
        identity: Identity,
        clock_file: Path,
        *,
        size: int,
        weeks: int = 24,
        seed: int = 2026,
        hr_login: str = "hr.admin",
        progress: bool = True,
    ) -> None:
        self.urls = urls
        self.identity = identity
        self.clock_file = clock_file
        self.size = size
        self.weeks = max(weeks, 4)
        self.seed = seed
        self.hr_login = hr_login
        self.show_progress = progress
        self.rng = random.Random(seed)
        self.truth = GroundTruth(employees=size)
        self.tokens: dict[str, str] = {}  # employee id -> bearer token
        self.participants: dict[str, str] = {}  # employee id -> participant id
        self.employee_of: dict[str, Employee] = {}  # participant id -> employee
        self.active_pairs: dict[str, tuple[str, str]] = {}  # pair id -> (junior id, senior id)
        self.first_held: set[str] = set()  # pairs that held a session
        self.hr = ""
        self.company: Company | None = None
        self._http: httpx.AsyncClient | None = None
        self._gate = asyncio.Semaphore(CONCURRENCY)
        self._keys = 0
        # Idempotency keys are this play's own: `make run` keeps its database, and a second play
        # with keys of the first was answered the first's program (or refused: another request).
        self._run = uuid4().hex[:12]
        self.rotated = False
        self.attended: set[str] = set()  # people whose session was held this week

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        assert self._http is not None, "play() opens the client"
        return self._http

    def has(self, service: str) -> bool:
        return service in self.urls

    def now(self) -> datetime:
        return SharedClock(self.clock_file).now()

    async def call(
        self, method: str, service: str, path: str, token: str, body: Any = None, *, action: str = ""
    ) -> Any:
        """One request as the holder of `token`; an Idempotency-Key makes a retried POST safe. Raises
        `Refused` for a 4xx (counted by `action`); retries a 5xx or a dropped connection."""
        self._keys += 1
        headers = {"Authorization": f"Bearer {token}"}
        if method != "GET":
            headers["Idempotency-Key"] = f"simulation:{self._run}:{self._keys}"
        async with self._gate:
            for attempt in range(RETRIES):
                try:
                    response = await self.http.request(
                        method, f"{self.urls[service]}{path}", json=body, headers=headers, params=None
                    )
                except httpx.TransportError:
                    await asyncio.sleep(min(0.5 * 2**attempt, 8.0))
                    continue
                if response.status_code >= 500 or response.status_code == 429:
                    await asyncio.sleep(min(0.5 * 2**attempt, 8.0))
                    continue
                if response.status_code >= 400:
                    if action:
                        self.truth.refused[action] += 1
                        self.truth.refusals[f"{action}: {response.status_code} {_problem_code(response)}"] += 1
                    raise Refused(response)
                return response.json() if response.content else None
        self.truth.refused[f"unavailable:{service}"] += 1
        raise Unavailable(f"{method} {service}{path} kept failing")

    async def attempt(self, call: Awaitable[T]) -> T | None:
        """The call's answer, or None when it was refused or the service kept failing (counted already):
        an overloaded machine slows the play down, it does not stop it."""
        try:
            return await call
        except (Refused, Unavailable):
            return None

    async def each(self, label: str, items: Sequence[T], act: Callable[[T], Awaitable[Any]]) -> list[Any]:
        """`act` on every item concurrently (bounded by the client's gate), with a progress bar."""
        done = 0
        results: list[Any] = [None] * len(items)

        async def one(index: int, item: T, advance: Callable[[int, int | None], None]) -> None:
            nonlocal done
            results[index] = await act(item)
            done += 1
            advance(done, len(items))

        if not self.show_progress:
            await asyncio.gather(*(one(n, item, lambda *_: None) for n, item in enumerate(items)))
            return results
        with Progress(label, unit="calls") as bar:
            bar(0, len(items))
            await asyncio.gather(*(one(n, item, bar) for n, item in enumerate(items)))
        return results

    async def until(self, check: Callable[[], Awaitable[bool]], timeout: float = EFFECT_SECONDS) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if await check():
                return True
            await asyncio.sleep(0.3)
        return False

    def say(self, line: str) -> None:
        if self.show_progress:
            print(line, flush=True)

    def token_of(self, participant_id: str) -> str:
        return self.tokens[self.employee_of[participant_id].employee_id]

    # -- the play ---------------------------------------------------------------------------------

    async def play(self) -> GroundTruth:
        limits = httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY * 2)
        async with httpx.AsyncClient(timeout=60, limits=limits) as self._http:
            self.hr = await self.identity.token(self.hr_login)
            vocabulary = await fetch_vocabulary(self.http, self.urls["enrollment"], self.hr)
            self.company = generate_company(self.size, seed=self.seed, vocabulary=vocabulary)
            await self.sign_in(self.company.employees)
            start = await self.create_program(self.company)
            await self.import_employees(self.company)
            await self.approve()
            await self.withdrawals()
            if self.has("pairing"):
                await self.pairing_round("full")
                await self.pairing_round("incremental")
            SharedClock.set_file(self.clock_file, datetime.combine(start, time(6), tzinfo=UTC))
            await self.call("POST", "enrollment", f"/programs/{self.truth.program_id}/start", self.hr, action="start")
            for week in range(self.weeks):
                if self.has("pairing"):
                    await self.rounds_of_pairing()
                    if week == self.weeks // 2 and not self.rotated:
                        await self.pairing_round("rotation")
                        self.rotated = True
                await self.week(week)
            await self.close()
            await self.erasures()
        return self.truth

    async def sign_in(self, people: Sequence[Employee]) -> None:
        """Every employee gets an account at the development provider, and a token, concurrently."""
        self.identity.add_accounts(
            {person.login: {"roles": ["participant"], "employee_id": person.employee_id} for person in people}
        )

        async def token(person: Employee) -> None:
            async with self._gate:
                self.tokens[person.employee_id] = await self.identity.token(person.login)

        await self.each("sign in", people, token)

    async def create_program(self, company: Company) -> date:
        today = self.now().date()
        start = today + timedelta(days=7 - today.weekday() + 7)  # the Monday after next
        body = program_terms(company, start, weeks=self.weeks, size=self.size, seed=self.seed)
        created = await self.call("POST", "enrollment", "/programs", self.hr, body)
        self.truth.program_id = created["program_id"]
        await self.call("POST", "enrollment", f"/programs/{self.truth.program_id}/open", self.hr)
        self.say(f"program {self.truth.program_id}: {start} to {body['end_date']}, {self.size:,} employees invited")
        return start

    async def import_employees(self, company: Company) -> None:
        """HR imports everyone in one JSON-lines file, through enrollment's imports API."""
        lines = "\n".join(json.dumps(person.enrollment(), ensure_ascii=False) for person in company.employees)
        started = await self.http.post(
            f"{self.urls['enrollment']}/programs/{self.truth.program_id}/imports",
            content=lines.encode(),
            headers={"Authorization": f"Bearer {self.hr}", "Content-Type": "application/x-ndjson"},
        )
        if started.status_code != 202:
            raise Refused(started)
        job = started.json()
        url = f"{self.urls['enrollment']}{started.headers['location']}"
        bar = Progress("import", unit="rows") if self.show_progress else None
        with bar or _Quiet():
            while not job["readable"] and job["status"] not in {"failed", "cancelled"}:
                await asyncio.sleep(0.3)
                job = (await self.http.get(url, headers={"Authorization": f"Bearer {self.hr}"})).json()
                if bar:
                    bar(job["processed"], job["total"])
        self.truth.enrolled = job["enrolled"]
        self.truth.rejected_rows = job["rejected"]
        listed = await self.participants_listed()
        for item in listed:
            self.participants[item["employee_id"]] = item["participant_id"]
        people = company.by_id()
        self.employee_of = {pid: people[employee] for employee, pid in self.participants.items()}
        self.say(f"imported: {job['enrolled']:,} enrolled, {job['rejected']:,} rejected")

    async def participants_listed(self, status: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query = f"?limit=500{f'&status={status}' if status else ''}{f'&cursor={cursor}' if cursor else ''}"
            page = await self.call(
                "GET", "enrollment", f"/programs/{self.truth.program_id}/participants{query}", self.hr
            )
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items

    async def approve(self) -> None:
        """HR approves every applicant (the program asks for approvals)."""
        applicants = [item["participant_id"] for item in await self.participants_listed("applied")]
        program = self.truth.program_id

        async def approve(participant_id: str) -> None:
            path = f"/programs/{program}/enrollments/{participant_id}/approve"
            answer = await self.attempt(self.call("POST", "enrollment", path, self.hr, action="approve"))
            if answer is not None:
                target = self.truth.approved if answer["status"] == "approved" else self.truth.waitlisted
                target.add(participant_id)

        await self.each("approvals", applicants, approve)
        for item in await self.participants_listed("approved"):
            self.truth.approved.add(item["participant_id"])

    async def withdrawals(self) -> None:
        """Those who change their mind withdraw themselves, before any pairing."""
        leaving = [pid for pid, person in self.employee_of.items() if person.behaviour.withdraws]
        program = self.truth.program_id

        async def withdraw(participant_id: str) -> None:
            path = f"/programs/{program}/enrollments/{participant_id}/withdraw"
            body = {"reason": self.rng.choice(("workload", "left_company", "program_fit"))}
            token = self.token_of(participant_id)
            if await self.attempt(self.call("POST", "enrollment", path, token, body, action="withdraw")):
                self.truth.withdrawn.add(participant_id)

        await self.each("withdrawals", leaving, withdraw)

    # -- pairing ----------------------------------------------------------------------------------

    async def pairing_round(self, kind: str) -> None:
        program = self.truth.program_id
        expected = len(self.truth.approved - self.truth.withdrawn)

        in_pool = 0

        async def pool_is_the_approved() -> bool:
            # Exactly: pairing must have heard of every withdrawal too, or the round proposes people
            # who left, and pairing withdraws those proposals (409 to whoever answers them).
            nonlocal in_pool
            pool = await self.attempt(self.call("GET", "pairing", f"/programs/{program}/pool", self.hr))
            if pool is None:
                return False
            in_pool = int(pool["juniors"].get("approved", 0) + pool["seniors"].get("approved", 0))
            return in_pool == expected

        if kind == "full" and not await self.until(pool_is_the_approved, timeout=EFFECT_SECONDS * 2):
            if in_pool < expected:
                self.say("pairing has not heard of every approved participant: no round")
                return
            self.say(f"pairing still counts {in_pool - expected} who withdrew: pairing anyway")
        requested = await self.attempt(
            self.call("POST", "pairing", f"/programs/{program}/rounds", self.hr, {"kind": kind}, action="round")
        )
        if requested is None:
            return
        await self.answer_round(requested["round_id"], kind)

    async def answer_round(self, round_id: str, kind: str) -> None:
        """Once the round is over, each side of its proposals answers."""
        self.truth.rounds.append(round_id)
        proposals = await self.proposals_when_finished(round_id, kind)
        if proposals is None:
            return
        if kind == "rotation":
            self.active_pairs.clear()
        await self.each(f"answers to the {kind} round", proposals, self.answer)

    async def proposals_when_finished(self, round_id: str, kind: str) -> list[dict[str, Any]] | None:
        """The round's proposals once it is over; None if it is still running after a long wait."""
        found: dict[str, Any] = {}

        async def finished() -> bool:
            found.update(await self.call("GET", "pairing", f"/rounds/{round_id}?limit=1", self.hr))
            return bool(found["status"] != "running")

        if not await self.until(finished, timeout=EFFECT_SECONDS * 10):
            self.say(f"{kind} round {round_id} still running after {EFFECT_SECONDS * 10:.0f}s: no answers")
            return None
        proposals = await self.proposals_of(round_id, found.get("matched") or 0)
        self.say(f"{kind} round: {found['status']}, {len(proposals)} of {found.get('matched')} proposals listed")
        return proposals

    async def rounds_after_the_close(self) -> None:
        """Rounds pairing ran by itself after the play last looked, before it heard of the close (a
        rotation falling due in the program's last days): nobody answered them and the close withdrew
        their proposals, but pairing made them, so they count as proposed."""
        program = self.truth.program_id

        async def pairing_heard_of_the_close() -> bool:  # from then on pairing starts no round
            pool = await self.attempt(self.call("GET", "pairing", f"/programs/{program}/pool", self.hr))
            return pool is not None and bool(pool["closed"])

        if not await self.until(pairing_heard_of_the_close):
            self.say("pairing has not heard of the close: rounds it runs meanwhile are not counted")
            return
        page = await self.call("GET", "pairing", f"/programs/{program}/rounds?limit=500", self.hr)
        for found in page["items"]:
            if found["round_id"] not in self.truth.rounds:
                self.truth.rounds.append(found["round_id"])
                proposals = await self.proposals_when_finished(found["round_id"], found["kind"]) or []
                self.truth.proposals.update(proposal["pair_id"] for proposal in proposals)

    async def rounds_of_pairing(self) -> None:
        """Rounds pairing ran by itself (the rotation its scheduler starts at the program's rotation
        date): their proposals are answered like the others."""
        page = await self.call("GET", "pairing", f"/programs/{self.truth.program_id}/rounds?limit=500", self.hr)
        for found in page["items"]:
            if found["round_id"] not in self.truth.rounds:
                await self.answer_round(found["round_id"], found["kind"])
                if found["kind"] == "rotation":
                    self.rotated = True

    async def proposals_of(self, round_id: str, matched: int) -> list[dict[str, Any]]:
        proposals: list[dict[str, Any]] = []

        async def listed() -> bool:
            proposals.clear()
            after = ""
            while True:
                page = await self.call("GET", "pairing", f"/rounds/{round_id}?limit=1000{after}", self.hr)
                proposals.extend(page["proposals"])
                if len(page["proposals"]) < 1000:
                    return len(proposals) >= matched
                after = f"&after={page['proposals'][-1]['pair_id']}"

        await self.until(listed, timeout=EFFECT_SECONDS * 5)
        return proposals

    async def answer(self, proposal: dict[str, Any]) -> None:
        """Each side answers for themselves: a decliner declines (once in the program), others accept."""
        pair_id, junior, senior = proposal["pair_id"], proposal["junior_id"], proposal["senior_id"]
        self.truth.proposals.add(pair_id)
        for side in (junior, senior):
            person = self.employee_of.get(side)
            if person is None:
                return
            if person.behaviour.declines and side not in self.truth.decliners:
                body = {"participant_id": side, "reason": self.rng.choice(("no_time", "schedule_mismatch"))}
                if await self.attempt(
                    self.call(
                        "POST", "pairing", f"/proposals/{pair_id}/decline", self.token_of(side), body, action="decline"
                    )
                ):
                    self.truth.declined.add(pair_id)
                    self.truth.decliners.add(side)
                return
        answer: dict[str, Any] | None = None
        for side in (junior, senior):
            answer = await self.accept(pair_id, side)
            if answer is None:  # refused: the proposal is over for the other side too
                return
        if answer is not None and answer["status"] == "active":
            self.truth.activated.add(pair_id)
            self.truth.paired_people.update((junior, senior))
            self.active_pairs[pair_id] = (junior, senior)

    async def accept(self, pair_id: str, side: str) -> dict[str, Any] | None:
        """Accept once: a refusal (409) is pairing's final word on a proposal that can no longer be
        accepted (expired, withdrawn, infeasible), counted, not retried."""
        path = f"/proposals/{pair_id}/accept"
        answer: dict[str, Any] | None = await self.attempt(
            self.call("POST", "pairing", path, self.token_of(side), {"participant_id": side}, action="accept")
        )
        return answer

    # -- a week -----------------------------------------------------------------------------------

    async def week(self, week: int) -> None:
        """Cancellations of the week to come, then a week later: attendance of what was due, feedback
        and fit for last week's sessions, assessments asked, practices adopted."""
        now = self.now()
        until = now + STEP
        scheduled = await self.scheduled_sessions() if self.has("sessions") else []
        coming = [session for session in scheduled if now <= _starts(session) < until]
        await self.each(f"week {week + 1}: cancellations", coming, self.maybe_cancel)
        if self.has("pairing"):
            # Proposals pairing made by itself this week (a rotation it started when pairs fell due)
            # are answered this week, before the clock moves past the days people have to answer.
            await self.rounds_of_pairing()
        SharedClock.advance_file(self.clock_file, STEP)
        due = [
            session
            for session in scheduled
            if _starts(session) < until and session["session_id"] not in self.truth.sessions_cancelled
        ]
        attended_before, self.attended = self.attended, set()
        await self.each(f"week {week + 1}: attendance", due, self.attend)
        if self.has("evaluation"):
            # Evaluation asks for feedback once it hears a session was held: last week's are asked by now.
            everyone = week % 4 == 0 or week == self.weeks // 2 + 1
            people = list(self.employee_of) if everyone else sorted(attended_before)
            await self.each(f"week {week + 1}: evaluation", people, self.evaluate)
            adopters = [pid for pid, p in self.employee_of.items() if self.rng.random() < p.behaviour.adopts_practices]
            await self.each(f"week {week + 1}: practices", adopters, self.adopt_practice)

    async def sessions_planned(self) -> None:
        """Wait (bounded) until sessions has planned every pair the play knows active: it hears of a
        pair a moment after pairing activates it — longer while it works through a backlog (a
        second `make run` on the same database, whose services publish their history again) — and a
        week played before that would pass the pair's sessions by."""
        wanted = set(self.active_pairs)

        async def planned() -> bool:
            path = f"/programs/{self.truth.program_id}/pairs"
            listed = await self.attempt(self.call("GET", "sessions", path, self.hr))
            done = {
                pair["pair_id"]
                for pair in listed or []
                if pair["needs_attention"]
                or pair["status"] != "active"
                or any(pair[count] for count in ("scheduled", "held", "missed", "cancelled"))
            }
            return wanted <= done

        if wanted and not await self.until(planned, timeout=3 * EFFECT_SECONDS):
            self.say(f"sessions has not planned every pair after {3 * EFFECT_SECONDS:.0f}s: the week goes on")

    async def scheduled_sessions(self) -> list[dict[str, Any]]:
        """The scheduled sessions of the pairs active as far as the play knows, in time order."""
        await self.sessions_planned()
        found: list[dict[str, Any]] = []

        async def of_pair(pair_id: str) -> None:
            listed = await self.attempt(self.call("GET", "sessions", f"/pairs/{pair_id}/sessions", self.hr))
            if listed is None:
                return
            if listed["closed"]:
                self.active_pairs.pop(pair_id, None)
            found.extend(session for session in listed["sessions"] if session["status"] == "scheduled")

        await asyncio.gather(*(of_pair(pair_id) for pair_id in list(self.active_pairs)))
        return sorted(found, key=lambda session: (session["starts_at"], session["session_id"]))

    async def maybe_cancel(self, session: dict[str, Any]) -> None:
        for side in (session["junior_id"], session["senior_id"]):
            person = self.employee_of.get(side)
            if person and person.behaviour.cancels_repeatedly and self.rng.random() < 0.7:
                body = {"participant_id": side, "reason": self.rng.choice(("workload", "not_available", "illness"))}
                path = f"/sessions/{session['session_id']}/cancel"
                if await self.attempt(self.call("POST", "sessions", path, self.token_of(side), body, action="cancel")):
                    self.truth.sessions_cancelled.add(session["session_id"])
                return

    async def attend(self, session: dict[str, Any]) -> None:
        junior, senior = session["junior_id"], session["senior_id"]
        if junior not in self.employee_of or senior not in self.employee_of:
            return
        absent = [side for side in (junior, senior) if self.rng.random() < self.employee_of[side].behaviour.misses]
        reporter = senior if junior in absent else junior
        body: dict[str, Any] = {"participant_id": reporter, "outcome": "missed", "absent": absent}
        if not absent:
            body = {
                "participant_id": reporter,
                "outcome": "held",
                "duration_minutes": self.rng.choice((30, 45, 50, 60)),
            }
        path = f"/sessions/{session['session_id']}/attendance"
        if await self.attempt(self.call("POST", "sessions", path, self.token_of(reporter), body, action="attendance")):
            if absent:
                self.truth.sessions_missed.add(session["session_id"])
            else:
                self.truth.sessions_held.add(session["session_id"])
                self.truth.people_with_a_held_session.update((junior, senior))
                self.attended.update((junior, senior))

    async def evaluate(self, participant_id: str) -> None:
        """What evaluation asks the participant now: feedback on held sessions, the pair's fit, the
        assessments of the phase, the survey; each answered as this person would."""
        person = self.employee_of[participant_id]
        token = self.tokens[person.employee_id]
        view = await self.attempt(self.call("GET", "evaluation", f"/participants/{participant_id}/evaluation", token))
        if view is None:
            return
        asked = view["asked"]
        for session_id in asked["feedback"]:
            if self.rng.random() < person.behaviour.gives_feedback:
                good = 2 if person.behaviour.not_a_good_fit else 4
                usefulness = min(5, max(1, good + self.rng.choice((-1, 0, 0, 1))))
                trust = min(5, max(1, good + self.rng.choice((-1, 0, 1, 1))))
                body = {"participant_id": participant_id, "usefulness": usefulness, "trust": trust}
                path = f"/sessions/{session_id}/feedback"
                if await self.attempt(self.call("POST", "evaluation", path, token, body, action="feedback")):
                    self.truth.feedback += 1
                    self.truth.feedback_people.add(participant_id)
                    self.truth.usefulness += usefulness
                    self.truth.trust += trust
        for pair_id in asked["fit"]:
            good_fit = not person.behaviour.not_a_good_fit
            body = {"participant_id": participant_id, "good_fit": good_fit}
            if await self.attempt(self.call("POST", "evaluation", f"/pairs/{pair_id}/fit", token, body, action="fit")):
                self.truth.fit_answers[good_fit] += 1
        for phase in asked["assessments"]:
            growth = {"baseline": 0, "midpoint": 1, "end": 2}.get(phase, 0)
            ratings = [
                {"skill": skill, "level": max(1, min(5, level + growth - (self.rng.random() < 0.3)))}
                for skill, level in person.skills_wanted
            ]
            path = f"/participants/{participant_id}/assessments"
            body = {"phase": phase, "ratings": ratings}
            if await self.attempt(self.call("POST", "evaluation", path, token, body, action="assessment")):
                self.truth.assessments[phase] += 1
                if phase == "end":
                    self.truth.end_assessed.add(participant_id)
        if asked["survey"] and self.rng.random() < person.behaviour.answers_survey:
            satisfied = 2 if person.behaviour.not_a_good_fit else 4
            body = {
                "satisfaction": min(5, satisfied + self.rng.choice((0, 0, 1))),
                "recommendation": min(10, 2 * satisfied + self.rng.choice((-1, 0, 1, 2))),
            }
            path = f"/participants/{participant_id}/survey"
            if await self.attempt(self.call("POST", "evaluation", path, token, body, action="survey")):
                self.truth.surveys += 1

    async def adopt_practice(self, participant_id: str) -> None:
        person = self.employee_of[participant_id]
        body = {
            "objective": self.rng.choice(person.objectives),
            "adopted_on": self.now().date().isoformat(),
            "description": "A new habit from my tandem",
        }
        path = f"/participants/{participant_id}/practices"
        if await self.attempt(
            self.call("POST", "evaluation", path, self.token_of(participant_id), body, action="practice")
        ):
            self.truth.practices += 1

    # -- the end ----------------------------------------------------------------------------------

    async def close(self) -> None:
        """HR closes the program; everyone is asked the end assessment and the survey, and answers."""
        await self.call("POST", "enrollment", f"/programs/{self.truth.program_id}/close", self.hr, action="close")
        if self.has("pairing"):
            await self.rounds_after_the_close()
        SharedClock.advance_file(self.clock_file, timedelta(days=1))
        if not self.has("evaluation"):
            return
        someone = next(iter(sorted(self.truth.paired_people)), None)

        async def end_asked() -> bool:
            if someone is None:
                return True
            path = f"/participants/{someone}/evaluation"
            view = await self.attempt(self.call("GET", "evaluation", path, self.token_of(someone)))
            return view is not None and ("end" in view["asked"]["assessments"] or someone in self.truth.end_assessed)

        await self.until(end_asked)
        await self.each("end of program: assessments and survey", list(self.employee_of), self.evaluate)

    async def erasures(self) -> None:
        """Those who ask it are erased, at their own request, once the program is over."""
        leaving = [pid for pid, person in self.employee_of.items() if person.behaviour.asks_erasure]
        program = self.truth.program_id

        async def erase(participant_id: str) -> None:
            path = f"/programs/{program}/enrollments/{participant_id}/personal-data"
            if await self.attempt(
                self.call("DELETE", "enrollment", path, self.token_of(participant_id), action="erase")
            ):
                self.truth.erased.add(participant_id)

        await self.each("erasures", leaving, erase)


def program_terms(company: Company, start: date, *, weeks: int, size: int, seed: int) -> dict[str, Any]:
    """What HR creates the program with (`POST /programs`): `weeks` from `start`, a rotation half-way.

    Proposals stay open two steps of the play's clock: pairing may propose by itself (the rotation
    its scheduler starts when pairs fall due) just before the play moves every clock a week on,
    and people answering it at the next step must still find it open.
    """
    return {
        "name": f"Reverse mentoring {start.year} (simulated, seed {seed})",
        "description": "Juniors coach seniors on AI, digital tools and social networks; seniors share "
        "leadership, negotiation and how the company works.",
        "objectives": [{"code": code, "title": title, "theme": theme} for code, title, theme in OBJECTIVES],
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(weeks=weeks)).isoformat(),
        "session_cadence_days": 14,
        "session_minutes": 45,
        "rotation_months": max(1, round(weeks / 2 / 4.35)),
        "proposal_expiry_days": 2 * STEP.days,
        "capacity": size,
        "auto_approve": False,
        "languages": company.languages,
        "eligibility": {"junior": {"max_years_in_company": 8, "max_job_level": 4}, "senior": {"min_job_level": 5}},
    }


def _starts(session: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(session["starts_at"])


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
