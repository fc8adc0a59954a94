"""Who is calling: bearer tokens from the company's OpenID Connect provider, verified here.

Every request but the probes' carries an access token (a JWT) issued by one provider (`OIDC_ISSUER`)
for Tandem (`OIDC_AUDIENCE`). The verifier learns the provider's keys by discovery
(`/.well-known/openid-configuration` → `jwks_uri`), caches them, and fetches them again when a token
names a key it does not know (the provider rotated its keys), at most once every
`refetch_seconds`. It checks the signature with a well-kept JOSE library (PyJWT), accepting only
asymmetric algorithms (`none` and HMAC are refused: a shared secret would let anyone holding it mint
tokens), then issuer, audience, expiry and not-before with a small clock skew.

What the token says becomes a `Principal`: the subject, its roles (from a configurable claim, e.g.
`roles` or `groups`), the employee it is (a configurable claim, e.g. `employee_id`, which enrollment
knows), the programs a program admin is limited to (if any), its OAuth scopes, and the client id for
platforms. Access rules (`access`) decide what a principal may do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from tandem_kernel.metrics import IDENTITY_KEY_FETCHES

__all__ = ["ASYMMETRIC_ALGORITHMS", "InvalidToken", "Principal", "Roles", "TokenVerifier"]

log = logging.getLogger("tandem.identity")

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class Roles:
    """The roles Tandem knows. A token may carry others; they grant nothing here."""

    PROGRAM_ADMIN = "program_admin"  # HR: programs, enrollments, pairing, sessions, evaluations
    PARTICIPANT = "participant"  # an employee: their own enrollment, pairs, sessions, evaluations
    REPORTING_READER = "reporting_reader"  # aggregates only, never personal data
    SERVICE = "service"  # an internal platform, limited by its OAuth scopes
    OPERATOR = "operator"  # the people who run Tandem: jobs, dead letters, lags


class InvalidToken(Exception):
    """No token, or one that does not prove who is calling (HTTP 401)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    roles: frozenset[str]
    employee_id: str | None = None
    client_id: str | None = None
    scopes: frozenset[str] = frozenset()
    programs: frozenset[str] | None = None  # a program admin limited to these; None: every program

    def has(self, role: str) -> bool:
        return role in self.roles

    def is_employee(self, employee_id: str | None) -> bool:
        """Whether this caller is the employee `employee_id` (ids compare without case)."""
        return (
            self.employee_id is not None
            and employee_id is not None
            and self.employee_id.casefold() == employee_id.casefold()
        )

    def administers(self, program_id: object) -> bool:
        """Whether this caller is a program admin of `program_id`."""
        return self.has(Roles.PROGRAM_ADMIN) and (self.programs is None or str(program_id) in self.programs)

    @property
    def role(self) -> str:
        """The role it acts in, for the audit trail: the first one Tandem knows."""
        for role in (Roles.PROGRAM_ADMIN, Roles.SERVICE, Roles.OPERATOR, Roles.REPORTING_READER, Roles.PARTICIPANT):
            if role in self.roles:
                return role
        return "none"


def _strings(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, Iterable):
        return frozenset(str(item) for item in value)
    return frozenset()


VERIFIED_TOKENS_KEPT = 10_000
"""Verified tokens a service remembers (the oldest forgotten first): about 1 KiB each."""


class TokenVerifier:
    """Verifies bearer tokens of one issuer for one audience.

    >>> verifier = TokenVerifier("https://login.example.com", "urn:tandem:api")
    >>> principal = await verifier.verify(token)     # or InvalidToken, with the reason
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        *,
        roles_claim: str = "roles",
        employee_claim: str = "employee_id",
        programs_claim: str = "programs",
        leeway_seconds: float = 30.0,
        refetch_seconds: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.roles_claim = roles_claim
        self.employee_claim = employee_claim
        self.programs_claim = programs_claim
        self.leeway_seconds = leeway_seconds
        self.refetch_seconds = refetch_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._jwks_uri: str | None = None
        self._refetched_at = float("-inf")
        self._lock = asyncio.Lock()
        # token → (its caller, when it expires, its key id): tokens verified already
        self._verified: dict[str, tuple[Principal, float, str | None]] = {}

    async def verify(self, token: str) -> Principal:
        """The caller a token stands for; `InvalidToken` with the reason if it does not verify.

        A token verified once is remembered until it expires (a caller sends the same token with
        every request: its RSA signature was a tenth of a request's CPU); one whose signing key the
        provider no longer publishes is verified again (and refused).
        """
        remembered = self._verified.get(token)
        if remembered is not None:
            principal, expires_at, kid = remembered
            if time.time() < expires_at + self.leeway_seconds and (kid is None or kid in self._keys):
                return principal
            del self._verified[token]
        principal, expires_at, kid = await self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = (principal, expires_at, kid)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float, str | None]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(f"not a JWT: {error}") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise InvalidToken(f"tokens signed with {algorithm!r} are not accepted")
        key = await self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        return self._principal(claims), float(claims["exp"]), kid

    def _principal(self, claims: dict[str, Any]) -> Principal:
        programs = claims.get(self.programs_claim)
        employee = claims.get(self.employee_claim)
        return Principal(
            subject=str(claims["sub"]),
            roles=_strings(claims.get(self.roles_claim)),
            employee_id=str(employee) if employee else None,
            client_id=str(claims.get("client_id") or claims.get("azp") or "") or None,
            scopes=_strings(claims.get("scope") or claims.get("scp")),
            programs=_strings(programs) if programs is not None else None,
        )

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        if kid is not None and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            # A key nobody knows: the provider may have rotated. Ask again, but not more than once
            # every `refetch_seconds`, so made-up key ids cannot make us hammer the provider. The
            # first load does not count: a rotation right after it must not wait.
            if kid not in self._keys and (
                not self._keys or time.monotonic() - self._refetched_at >= self.refetch_seconds
            ):
                if self._keys:
                    self._refetched_at = time.monotonic()
                await self._fetch_keys()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid is None or kid not in self._keys:
            raise InvalidToken(f"the token was signed with a key the provider does not publish ({kid})")
        return self._keys[kid]

    async def _fetch_keys(self) -> None:
        IDENTITY_KEY_FETCHES.labels(self.issuer).inc()
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                if self._jwks_uri is None:
                    discovery = await http.get(f"{self.issuer}/.well-known/openid-configuration")
                    discovery.raise_for_status()
                    self._jwks_uri = str(discovery.json()["jwks_uri"])
                published = await http.get(self._jwks_uri)
                published.raise_for_status()
                keys = jwt.PyJWKSet.from_dict(published.json())
        except (httpx.HTTPError, KeyError, ValueError, jwt.PyJWTError) as error:
            log.warning("cannot fetch the signing keys of %s: %r", self.issuer, error)
            raise InvalidToken(f"the identity provider's keys cannot be fetched: {error}") from None
        self._keys = {key.key_id: key for key in keys.keys if key.key_id}
        log.info("identity provider %s publishes %d signing key(s)", self.issuer, len(self._keys))
