"""Every service running with the real OpenID provider and a seeded world to reach past 404s: two
programs (one the `hr_other` admin is limited to), a junior (`participant_own`), a senior and
another employee (`participant_other`) enrolled, a round that proposed the junior and the senior,
and an import. Each kind of caller signs in through the provider (see `matrix.PERSONAS`)."""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from identity.matrix import PERSONAS, World
from tandem_enrollment.entrypoints.demo import DEMO_PROGRAM, sample_people
from tandem_kernel.api import create_app
from tandem_kernel.cli import services
from tandem_kernel.devbroker import DevBroker, broker_for_tests
from tandem_kernel.devidentity import SCOPES, DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.testing import TokenBook, eventually, fresh_database, serving, signed_in_settings

__all__ = ["Platform", "person", "seed"]

_employees = itertools.count(1)


@dataclass
class Platform:
    urls: dict[str, str]
    tokens: dict[str, str]  # persona -> bearer token
    employees: dict[str, str]  # persona -> employee id
    world: World
    sign_in: SignIn

    def headers(self, persona: str) -> dict[str, str]:
        return {} if persona == "anonymous" else {"Authorization": f"Bearer {self.tokens[persona]}"}

    async def fresh_world(self) -> World:
        """A program of its own, with the junior (`participant_own`) and a senior proposed to each other
        (and, with sessions installed, paired: both accepted, their sessions planned)."""
        return await seed(self.urls, self.tokens["hr"], self.employees, self.sign_in)


SignIn = Callable[[str], Awaitable[str]]
"""A participant's bearer token, by employee id."""


def person(role: str, employee_id: str, **overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(sample_people(2)[0 if role == "junior" else 1])
    body.update(
        employee_id=employee_id,
        role=role,
        languages=["en"],
        time_zone="Europe/Paris",
        availability=[{"weekday": "tue", "start": "09:00", "end": "12:00"}],
        meeting_preference="remote",
        manager_employee_id=None,
        department="IT" if role == "junior" else "Finance",
        **overrides,
    )
    return body


async def seed(urls: dict[str, str], hr_token: str, employees: dict[str, str], sign_in: SignIn) -> World:
    hr = {"Authorization": f"Bearer {hr_token}"}
    async with httpx.AsyncClient(timeout=30, headers=hr) as http:
        enrollment, pairing = urls["enrollment"], urls.get("pairing")
        # Ends long after the tests run: the pair's sessions are planned up to the program's end.
        program = {**DEMO_PROGRAM, "capacity": None, "end_date": "2099-12-31"}
        created = await http.post(f"{enrollment}/programs", json=program)
        program_id = created.json()["program_id"]
        await http.post(f"{enrollment}/programs/{program_id}/open")
        senior_employee = f"MX-S{next(_employees):04}"
        ids: dict[str, str] = {"program": program_id, "senior_employee": senior_employee}
        for name, role, employee in (
            ("junior", "junior", employees["participant_own"]),
            ("senior", "senior", senior_employee),
        ):
            enrolled = await http.post(f"{enrollment}/programs/{program_id}/enrollments", json=person(role, employee))
            assert enrolled.status_code == 201, enrolled.text
            ids[name] = enrolled.json()["participant_id"]
        ids["junior_employee"] = employees["participant_own"]
        if pairing is not None:

            async def pooled() -> bool:
                found = await http.get(f"{pairing}/programs/{program_id}/pool")
                pool = found.json() if found.status_code == 200 else {}
                return bool(pool) and pool["juniors"].get("approved", 0) + pool["seniors"].get("approved", 0) == 2

            await eventually(pooled, timeout=30)
            requested = await http.post(f"{pairing}/programs/{program_id}/rounds", json={"kind": "full"})
            ids["round"] = requested.json()["round_id"]

            async def proposed() -> bool:
                body = (await http.get(f"{pairing}/rounds/{ids['round']}")).json()
                if body["proposals"]:
                    ids["pair"] = body["proposals"][0]["pair_id"]
                return "pair" in ids

            await eventually(proposed, timeout=30)
            if "sessions" in urls:
                await _sessions(http, urls, ids, sign_in)
        # Someone else of the same program, enrolled after the round: not in the pair.
        other = person("junior", employees["participant_other"])
        enrolled = await http.post(f"{enrollment}/programs/{program_id}/enrollments", json=other)
        ids["other"] = enrolled.json()["participant_id"]
        ids["other_employee"] = employees["participant_other"]
    return World(ids, urls)


async def _sessions(http: httpx.AsyncClient, urls: dict[str, str], ids: dict[str, str], sign_in: SignIn) -> None:
    """Both accept the proposal; once sessions planned the pair, its first session and the senior's
    calendar URL (its token) join the world."""
    for side, employee in (("junior", ids["junior_employee"]), ("senior", ids["senior_employee"])):
        answered = await http.post(
            f"{urls['pairing']}/proposals/{ids['pair']}/accept",
            json={"participant_id": ids[side]},
            headers={"Authorization": f"Bearer {await sign_in(employee)}"},
        )
        assert answered.status_code == 200, answered.text

    async def planned() -> bool:
        found = await http.get(f"{urls['sessions']}/pairs/{ids['pair']}/sessions")
        if found.status_code == 200 and found.json()["sessions"]:
            ids["session"] = found.json()["sessions"][0]["session_id"]
        return "session" in ids

    await eventually(planned, timeout=30)
    issued = await http.post(
        f"{urls['sessions']}/participants/{ids['senior']}/calendar-feed",
        headers={"Authorization": f"Bearer {await sign_in(ids['senior_employee'])}"},
    )
    ids["feed"] = issued.json()["url"].rsplit("/", 1)[-1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def platform(identity: DevIdentity, tokens: TokenBook) -> AsyncIterator[Platform]:
    installed = services()
    async with contextlib.AsyncExitStack() as stack:
        # A broker of its own: the services' topics and consumer groups have fixed names, and another
        # world's committed offsets on the session's broker (Tansu reports wrong watermarks after
        # batches) left this world's consumers waiting (CI: every matrix row timed out seeding).
        broker: DevBroker = stack.enter_context(broker_for_tests())
        urls: dict[str, str] = {}
        for name, spec in sorted(installed.items()):
            database_url = await stack.enter_async_context(fresh_database(f"tandem_access_{name}"))
            settings = ServiceSettings(
                service_name=name,
                environment="test",
                database_url=database_url,
                kafka_bootstrap_servers=broker.bootstrap_servers,
                relay_poll_seconds=0.1,
                log_format="text",
                **signed_in_settings(identity),
            )
            urls[name] = await stack.enter_async_context(serving(create_app(spec, settings)))
        async with httpx.AsyncClient() as http:
            for url in urls.values():
                await eventually(lambda url=url: _ready(http, url), timeout=60)
        employees = {"participant_own": f"MX-J{next(_employees):04}", "participant_other": f"MX-O{next(_employees):04}"}
        async with httpx.AsyncClient(headers=await tokens.headers("hr-admin")) as http:
            other_program = (await http.post(f"{urls['enrollment']}/programs", json=DEMO_PROGRAM)).json()["program_id"]
        logins = {
            "hr": "hr-admin",
            "hr_other": tokens.person("hr-of-another-program", roles=["program_admin"], programs=[other_program]),
            "participant_own": tokens.person(
                "matrix-own", roles=["participant"], employee_id=employees["participant_own"]
            ),
            "participant_other": tokens.person(
                "matrix-other", roles=["participant"], employee_id=employees["participant_other"]
            ),
            "reporting": "reporting",
            "operator": "ops",
        }
        persona_tokens = {persona: await tokens.token(login) for persona, login in logins.items()}
        persona_tokens["platform_read"] = await tokens.service_token(
            "platform", " ".join(scope for scope in SCOPES if scope.endswith(":read"))
        )
        persona_tokens["platform_write"] = await tokens.service_token(
            "platform", " ".join(scope for scope in SCOPES if scope.endswith(":write"))
        )
        assert set(persona_tokens) | {"anonymous"} == set(PERSONAS)

        async def sign_in(employee_id: str) -> str:
            login = f"matrix-{employee_id.lower()}"
            if login not in tokens.provider.accounts:
                tokens.person(login, roles=["participant"], employee_id=employee_id)
            return await tokens.token(login)

        world = await seed(urls, persona_tokens["hr"], employees, sign_in)
        world.ids["other_program"] = other_program
        yield Platform(urls, persona_tokens, employees, world, sign_in)


async def _ready(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(f"{url}/readyz")).status_code == 200
