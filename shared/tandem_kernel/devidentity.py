"""The company's OpenID provider for development and tests: Node's certified `oidc-provider`.

Tandem trusts one OpenID Connect provider (see `identity`). Tests and `make run` do not fake it:
they start a real one (`deploy/dev-identity/server.mjs`) on a free port, with accounts for people
and clients for internal platforms, and get tokens from it the way real clients do — people through
the authorization code flow with PKCE (the provider's development sign-in form, any password),
platforms through client credentials.

    with DevIdentity(state_dir=tmp) as provider:
        provider.add_account("ada", roles=["participant"], employee_id="E1001")
        token = await provider.token("ada")
        platform = await provider.service_token("hr-system", "enrollment:write")
        provider.rotate_keys()                     # a new signing key; the old one still published

Accounts are read by the provider at every token, so tests add them while it runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tandem_kernel.devbroker import free_port, wait_for_port

__all__ = ["AUDIENCE", "DEFAULT_CLIENTS", "SCOPES", "DevIdentity", "identity_server_dir"]

AUDIENCE = "urn:tandem:api"
SCOPES = (
    "enrollment:read",
    "enrollment:write",
    "pairing:read",
    "pairing:write",
    "sessions:read",
    "sessions:write",
    "evaluation:read",
    "evaluation:write",
    "reporting:read",
)
DEFAULT_CLIENTS: dict[str, dict[str, Any]] = {
    # An internal platform allowed everything a service token can do (tests, the demo).
    "platform": {"scope": " ".join(SCOPES)},
    # An HR system that imports employees: it writes enrollments and reads nothing else.
    "hr-system": {"scope": "enrollment:write"},
    # A reporting tool that only pulls reports.
    "report-puller": {"scope": "reporting:read"},
}
_REDIRECT = "http://127.0.0.1/signed-in"


def identity_server_dir() -> Path:
    """Where the provider's Node project lives (`TANDEM_DEV_IDENTITY_DIR`, else the repository's)."""
    if configured := os.environ.get("TANDEM_DEV_IDENTITY_DIR"):
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "deploy" / "dev-identity"


def _private_jwk(kid: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class DevIdentity:
    """A running `oidc-provider` on 127.0.0.1, started and stopped by the project."""

    def __init__(
        self,
        port: int | None = None,
        *,
        state_dir: Path,
        clients: dict[str, dict[str, Any]] | None = None,
        ttl_seconds: int = 3600,
        log_file: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.state_dir = state_dir
        self.clients = {
            name: {**client, "client_secret": client.get("client_secret", f"{name}-secret")}
            for name, client in (clients or DEFAULT_CLIENTS).items()
        }
        self.ttl_seconds = ttl_seconds
        self.log_file = log_file
        self.keys = [_private_jwk("tandem-dev-1")]
        self.accounts: dict[str, dict[str, Any]] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._web_secret = secrets.token_urlsafe(16)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def audience(self) -> str:
        return AUDIENCE

    # -- the process ----------------------------------------------------------------------------

    def start(self) -> DevIdentity:
        server = identity_server_dir()
        if not (server / "node_modules" / "oidc-provider").exists():
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError("the development OpenID provider needs Node.js and npm (Debian: nodejs, npm)")
            subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=server, check=True)
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("the development OpenID provider needs Node.js")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self.state_dir / "identity.json"
        self._write_config(config)
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen([node, str(server / "server.mjs"), str(config)], stdout=output, stderr=output)
        wait_for_port(self.port, timeout=30)
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> DevIdentity:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def rotate_keys(self) -> None:
        """Sign with a new key from now on; the old one stays published (tokens it signed stay valid)."""
        self.keys = [_private_jwk(f"tandem-dev-{len(self.keys) + 1}"), *self.keys[:1]]
        self.stop()
        self.start()

    def _write_config(self, path: Path) -> None:
        config = {
            "port": self.port,
            "audience": AUDIENCE,
            "ttl_seconds": self.ttl_seconds,
            "keys": self.keys,
            "scopes": list(SCOPES),
            "accounts_file": str(self.state_dir / "accounts.json"),
            "clients": [{"client_id": name, **client} for name, client in self.clients.items()],
            "web_client": {"client_id": "tandem-web", "client_secret": self._web_secret, "redirect_uri": _REDIRECT},
        }
        path.write_text(json.dumps(config))
        self._write_accounts()

    def _write_accounts(self) -> None:
        (self.state_dir / "accounts.json").write_text(json.dumps(self.accounts))

    # -- people and platforms --------------------------------------------------------------------

    def add_account(
        self, login: str, *, roles: list[str], employee_id: str | None = None, programs: list[str] | None = None
    ) -> None:
        """A person who can sign in as `login` (any password), with these claims in their tokens."""
        self.accounts[login] = {"roles": roles, "employee_id": employee_id, "programs": programs}
        self._write_accounts()

    def add_accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        """Many people at once (`login` -> `add_account`'s keywords), written once: a simulated company."""
        for login, account in accounts.items():
            self.accounts[login] = {
                "roles": account["roles"],
                "employee_id": account.get("employee_id"),
                "programs": account.get("programs"),
            }
        self._write_accounts()

    async def token(self, login: str) -> str:
        """An access token for the person `login`, by the authorization code flow with PKCE."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        async with httpx.AsyncClient(base_url=self.issuer, follow_redirects=False, timeout=10) as browser:
            response = await browser.get(
                "/auth",
                params={
                    "client_id": "tandem-web",
                    "response_type": "code",
                    "redirect_uri": _REDIRECT,
                    "scope": "openid",
                    "resource": AUDIENCE,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
            )
            for _ in range(10):  # the sign-in form, then (for a new grant) a consent form
                location = response.headers.get("location", "")
                if location.startswith(_REDIRECT):
                    break
                page = await browser.get(location) if location else response
                if page.status_code in (302, 303):
                    response = page
                    continue
                action = re.search(r'action="([^"]+)"', page.text)
                if action is None:
                    raise RuntimeError(f"the provider's sign-in page has no form: {page.status_code}")
                prompt = "login" if 'name="login"' in page.text else "consent"
                response = await browser.post(action.group(1), data={"prompt": prompt, "login": login, "password": "x"})
            code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
            issued = await browser.post(
                "/token",
                auth=("tandem-web", self._web_secret),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": _REDIRECT,
                    "code_verifier": verifier,
                    "resource": AUDIENCE,
                },
            )
            issued.raise_for_status()
            return str(issued.json()["access_token"])

    async def service_token(self, client_id: str, scope: str | None = None) -> str:
        """An access token for the platform `client_id`, by client credentials."""
        client = self.clients[client_id]
        async with httpx.AsyncClient(base_url=self.issuer, timeout=10) as http:
            issued = await http.post(
                "/token",
                auth=(client_id, client["client_secret"]),
                data={"grant_type": "client_credentials", "scope": scope or client["scope"], "resource": AUDIENCE},
            )
            issued.raise_for_status()
            return str(issued.json()["access_token"])
