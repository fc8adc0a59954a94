"""The access matrix: for each route and each kind of caller, the answer the rules promise.

A `Case` names a route and who is admitted (`allowed`), who finds nothing there (`hidden`: someone
else's resource, another program's admin) — every other signed-in caller is refused (403) and a
caller without a token is asked to authenticate (401). "Admitted" means the request reached the
handler: any answer but 401, 403 and 404 (the data the world seeds makes every admitted request
find its resource). Routes that change what they touch (`fresh`) get a world of their own per
caller, so the order of the cells does not matter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["PERSONAS", "Case", "World", "outcome", "request"]

PERSONAS = (
    "anonymous",
    "hr",  # a program admin of every program
    "hr_other",  # a program admin of another program only
    "participant_own",  # the employee whose enrollment, pair or session it is
    "participant_other",  # another employee of the same program
    "reporting",  # a reporting reader: aggregates only
    "operator",  # runs Tandem: jobs, dead letters
    "platform_read",  # an internal platform with the services' read scopes
    "platform_write",  # an internal platform with the services' write scopes
)


@dataclass
class World:
    """Ids of what was seeded, by name, to fill a case's path, query and body."""

    ids: dict[str, str]
    urls: Mapping[str, str] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        return template.format(**self.ids)


@dataclass(frozen=True)
class Case:
    service: str
    method: str
    path: str
    allowed: frozenset[str]
    hidden: frozenset[str] = frozenset()
    body: Callable[[World], Any] | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    fresh: bool = False

    def expected(self, persona: str) -> str:
        if persona == "anonymous" and "anonymous" not in self.allowed:
            return "401"
        if persona in self.allowed:
            return "admitted"
        return "404" if persona in self.hidden else "403"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def case(
    service: str,
    route: str,
    allowed: set[str],
    hidden: set[str] | None = None,
    *,
    body: Callable[[World], Any] | None = None,
    query: Mapping[str, str] | None = None,
    fresh: bool = False,
) -> Case:
    method, path = route.split(" ", 1)
    return Case(service, method, path, frozenset(allowed), frozenset(hidden or ()), body, query or {}, fresh)


def outcome(status: int) -> str:
    return str(status) if status in (401, 403, 404) else "admitted"


async def request(
    world: World, the_case: Case, headers: Mapping[str, str], send: Callable[..., Awaitable[httpx.Response]]
) -> httpx.Response:
    query = {name: world.fill(value) for name, value in the_case.query.items()}
    body = the_case.body(world) if the_case.body is not None else None
    url = world.urls[the_case.service] + world.fill(the_case.path)
    return await send(the_case.method, url, headers=dict(headers), params=query, json=body)
