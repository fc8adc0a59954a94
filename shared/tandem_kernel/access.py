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

from collections.abc import Iterator, Sequence
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
    "SIGNED_IN",
    "AccessDenied",
    "Authenticated",
    "Endpoint",
    "Grant",
    "NotAuthenticated",
    "Rule",
    "allow",
    "authenticate",
    "authenticated",
    "bearer_token",
    "describe_rules",
    "endpoints",
    "install_access_problems",
    "public",
    "rule_of",
    "rules_by_route",
    "sees_program",
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
        if self.role == _ANY:
            return True
        return caller.has(self.role) and (self.scope is None or self.scope in caller.scopes)

    def __str__(self) -> str:
        if self.role == _ANY:
            return "anyone signed in"
        return f"{self.role} ({self.scope})" if self.scope else self.role


_ANY = "*"


PROGRAM_ADMIN = Grant(Roles.PROGRAM_ADMIN)
PARTICIPANT = Grant(Roles.PARTICIPANT)
REPORTING_READER = Grant(Roles.REPORTING_READER)
OPERATOR = Grant(Roles.OPERATOR)
SIGNED_IN = Grant(_ANY)
"""Any caller with a valid token, whatever its role: for what is not anybody's data (vocabularies)."""


def sees_program(caller: Principal, program_id: object) -> bool:
    """Whether a caller admitted to a route may see `program_id`'s data there: a program admin
    limited to some programs sees only those; platforms and unlimited admins see all."""
    return caller.programs is None or caller.has(Roles.SERVICE) or caller.administers(program_id)


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
    return await authenticate(request, credentials.credentials if credentials is not None else None)


async def authenticate(request: Request, token: str | None) -> Principal:
    """Verify `token` for this request (the result is kept on the request: verified once)."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    if token is None:
        AUTHENTICATION_FAILURES.labels("no token").inc()
        raise NotAuthenticated("this request needs a bearer token from the company's OpenID provider")
    verifier = request.app.state.runtime.identity
    if verifier is None:
        AUTHENTICATION_FAILURES.labels("no provider").inc()
        raise NotAuthenticated("this service has no identity provider configured (OIDC_ISSUER)")
    try:
        principal: Principal = await verifier.verify(token)
    except InvalidToken as invalid:
        AUTHENTICATION_FAILURES.labels("invalid token").inc()
        raise NotAuthenticated(f"the bearer token is not valid: {invalid}") from None
    request.state.principal = principal
    return principal


def bearer_token(request: Request) -> str | None:
    """The request's bearer token, if it carries one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


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


@dataclass(frozen=True)
class Endpoint:
    """A route as the app serves it: full path, methods, and everything it depends on."""

    path: str
    methods: frozenset[str]
    dependant: Dependant


def endpoints(app: FastAPI) -> Iterator[Endpoint]:
    """Every route of the app, those of included routers too (with their prefix)."""

    def walk(routes: Sequence[Any]) -> Iterator[Endpoint]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield Endpoint(route.path, frozenset(route.methods or ()), route.dependant)
            elif hasattr(route, "effective_candidates"):  # an included router (FastAPI >= 0.160)
                for candidate in route.effective_candidates():
                    if hasattr(candidate, "effective_candidates"):
                        yield from walk([candidate])
                    elif hasattr(candidate, "dependant"):
                        yield Endpoint(candidate.path, frozenset(candidate.methods or ()), candidate.dependant)

    yield from walk(app.routes)


def rule_of(endpoint: Endpoint | APIRoute) -> Rule | None:
    """The rule a route declares; None if it declares none (a defect: every route must)."""
    found = list(_rules(endpoint.dependant))
    if len(found) > 1:
        raise ValueError(f"{endpoint.path} declares {len(found)} rules: one per route")
    return found[0] if found else None


def rules_by_route(app: FastAPI) -> dict[tuple[str, str], Rule | None]:
    """Every (method, path) of the app and its rule: what the route walk test reads."""
    return {
        (method, endpoint.path): rule_of(endpoint)
        for endpoint in endpoints(app)
        for method in sorted(endpoint.methods - {"HEAD"})
    }


def describe_rules(app: FastAPI) -> None:
    """Say in the OpenAPI document who may call each operation, and require the bearer token where
    one is needed (so the docs' Authorize button sends it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        for (method, path), rule in rules_by_route(app).items():
            operation = document.get("paths", {}).get(path, {}).get(method.lower())
            if operation is None or rule is None:
                continue
            note = f"**Who may call:** {rule}."
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
            if rule.public:
                operation["security"] = []
            else:
                operation["security"] = [{"HTTPBearer": []}]
                operation.setdefault("responses", {}).setdefault(
                    "401", {"description": "No valid bearer token", "content": _problem_content()}
                )
                operation["responses"].setdefault(
                    "403", {"description": "The token does not grant this", "content": _problem_content()}
                )
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_content() -> dict[str, Any]:
    return {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


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
