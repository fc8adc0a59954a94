"""Who may call what: each route declares its rule next to its definition.

    HrOrPlatform = Annotated[Principal, allow(PROGRAM_ADMIN, service("enrollment:write"))]

    @router.post("/programs/{program_id}/open")
    async def open_program(program_id: UUID, caller: HrOrPlatform): ...

    @router.get("/healthz")
    async def healthz(_: Annotated[None, public()]): ...

`allow(...)` verifies the bearer token (see `identity`) and admits the caller if one grant fits:
no token or a bad one is a 401 (`WWW-Authenticate: Bearer`, a problem document); a valid token
with no fitting grant, a 403. A program admin limited to some programs (a `programs` claim) gets a
404 for any other program's URL, as if it did not exist. "Their own" rules (a participant and their
own enrollment, pairs, sessions) need the resource: the route checks `caller.is_employee(...)` and
answers 404 for someone else's, never 403, so that existence does not leak.

A test walks every route of every service and fails when one has no rule (`rule_of`); the rule is
also written into each operation's OpenAPI description, with the bearer security scheme, so that
`/docs` shows it and its Authorize button works.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tandem_kernel.errors import NotFound
from tandem_kernel.identity import InvalidToken, Principal, Roles
from tandem_kernel.metrics import AUTHENTICATION_FAILURES
from tandem_kernel.problems import problem

__all__ = [
    "OPERATOR",
    "PARTICIPANT",
    "PROGRAM_ADMIN",
    "REPORTING_READER",
    "AccessDenied",
    "Authenticated",
    "Grant",
    "NotAuthenticated",
    "Rule",
    "allow",
    "authenticated",
    "describe_rules",
    "install_access_problems",
    "public",
    "rule_of",
    "rules_by_route",
    "service",
]

_bearer = HTTPBearer(auto_error=False, description="An access token from the company's OpenID provider.")


class NotAuthenticated(Exception):
    """No token, or one that does not prove who is calling (401)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class AccessDenied(Exception):
    """The caller is known but may not do this (403)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


@dataclass(frozen=True)
class Grant:
    """One kind of caller a rule admits: a role, and for platforms the OAuth scope they need."""

    role: str
    scope: str | None = None

    def admits(self, caller: Principal) -> bool:
        return caller.has(self.role) and (self.scope is None or self.scope in caller.scopes)

    def __str__(self) -> str:
        return f"{self.role} ({self.scope})" if self.scope else self.role


PROGRAM_ADMIN = Grant(Roles.PROGRAM_ADMIN)
PARTICIPANT = Grant(Roles.PARTICIPANT)
REPORTING_READER = Grant(Roles.REPORTING_READER)
OPERATOR = Grant(Roles.OPERATOR)


def service(scope: str) -> Grant:
    """An internal platform holding the OAuth scope `scope` (e.g. `enrollment:write`)."""
    return Grant(Roles.SERVICE, scope)


@dataclass(frozen=True)
class Rule:
    """What a route declares: who may call it, or that anyone may (`public`)."""

    grants: tuple[Grant, ...]
    public: bool = False

    def __str__(self) -> str:
        return "anyone, without a token" if self.public else ", ".join(str(grant) for grant in self.grants)


async def authenticated(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller, from the bearer token (once per request); `NotAuthenticated` without a valid one."""
    if credentials is None:
        AUTHENTICATION_FAILURES.labels("no token").inc()
        raise NotAuthenticated("this request needs a bearer token from the company's OpenID provider")
    verifier = request.app.state.runtime.identity
    if verifier is None:
        AUTHENTICATION_FAILURES.labels("no provider").inc()
        raise NotAuthenticated("this service has no identity provider configured (OIDC_ISSUER)")
    try:
        return await verifier.verify(credentials.credentials)  # type: ignore[no-any-return]
    except InvalidToken as invalid:
        AUTHENTICATION_FAILURES.labels("invalid token").inc()
        raise NotAuthenticated(f"the bearer token is not valid: {invalid}") from None


Authenticated = Annotated[Principal, Depends(authenticated)]


def allow(*grants: Grant) -> Any:
    """The dependency that admits callers holding one of `grants` and gives the route the `Principal`."""
    if not grants:
        raise ValueError("a rule admits somebody: name the grants, or declare the route public()")
    rule = Rule(grants)

    async def check(request: Request, caller: Authenticated) -> Principal:
        fitting = [grant for grant in rule.grants if grant.admits(caller)]
        if not fitting:
            raise AccessDenied(
                f"this needs one of: {rule}; the token grants {', '.join(sorted(caller.roles)) or 'no role'}"
            )
        program_id = request.path_params.get("program_id")
        admin_only = all(grant.role == Roles.PROGRAM_ADMIN for grant in fitting)
        if program_id is not None and admin_only and not caller.administers(program_id):
            raise NotFound("no such program")  # an admin of other programs: as if it did not exist
        return caller

    check.tandem_rule = rule  # type: ignore[attr-defined]
    return Depends(check)


def public() -> Any:
    """The explicit rule of a route anyone may call without a token (probes, metrics, docs)."""

    async def open_to_anyone() -> None:
        return None

    open_to_anyone.tandem_rule = Rule((), public=True)  # type: ignore[attr-defined]
    return Depends(open_to_anyone)


def _rules(dependant: Dependant) -> Iterator[Rule]:
    for dependency in dependant.dependencies:
        rule = getattr(dependency.call, "tandem_rule", None)
        if isinstance(rule, Rule):
            yield rule
        yield from _rules(dependency)


def rule_of(route: APIRoute) -> Rule | None:
    """The rule a route declares; None if it declares none (a defect: every route must)."""
    found = list(_rules(route.dependant))
    if len(found) > 1:
        raise ValueError(f"{route.path} declares {len(found)} rules: one per route")
    return found[0] if found else None


def describe_rules(app: FastAPI) -> None:
    """Write each route's rule into its OpenAPI description (the docs say who may call what)."""
    for route in app.routes:
        if isinstance(route, APIRoute) and (rule := rule_of(route)) is not None:
            note = f"**Who may call:** {rule}."
            route.description = f"{route.description}\n\n{note}".strip() if route.description else note


def install_access_problems(app: FastAPI, *, realm: str = "tandem") -> None:
    """401 and 403 as problem documents; a 401 says how to authenticate (RFC 6750)."""

    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, error: NotAuthenticated) -> JSONResponse:
        response = problem(
            401,
            "Not authenticated",
            error.detail,
            type_="https://tandem.example/problems/not-authenticated",
            code="not-authenticated",
        )
        description = error.detail.replace('"', "'")[:200]
        response.headers["WWW-Authenticate"] = (
            f'Bearer realm="{realm}", error="invalid_token", error_description="{description}"'
        )
        return response

    @app.exception_handler(AccessDenied)
    async def access_denied(request: Request, error: AccessDenied) -> JSONResponse:
        return problem(
            403, "Forbidden", error.detail, type_="https://tandem.example/problems/forbidden", code="forbidden"
        )


def rules_by_route(app: FastAPI) -> dict[tuple[str, str], Rule | None]:
    """Every (method, path) of the app and its rule: what the route walk test reads."""
    found: dict[tuple[str, str], Rule | None] = {}
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods or ()):
                found[(method, route.path)] = rule_of(route)
    return found
