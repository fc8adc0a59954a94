"""Every request is authenticated by the company's OpenID provider — a real `oidc-provider` here —
and every refusal is a problem document that says what is wrong."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from kernel.conftest import counter_settings
from kernel.counter_service import service
from prometheus_client import REGISTRY
from tandem_kernel.api import create_app
from tandem_kernel.devbroker import DevBroker
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.testing import TokenBook, eventually, serving

pytestmark = pytest.mark.broker


@contextlib.asynccontextmanager
async def ready_service(settings: ServiceSettings) -> AsyncIterator[str]:
    async with serving(create_app(service, settings)) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            await eventually(lambda: _ready(http))
        yield base


@pytest.fixture
async def counters(database_url: str, own_broker: DevBroker, identity: DevIdentity) -> AsyncIterator[str]:
    async with ready_service(counter_settings(database_url, own_broker.bootstrap_servers, identity)) as base:
        yield base


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def increment(base: str, headers: dict[str, str], counter: str = "c1") -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        return await http.post(f"/counters/{counter}/increments", json={"by": 1, "expected_version": 0})


def forged(algorithm: str, issuer: str, **header: str) -> str:
    claims = {"sub": "mallory", "iss": issuer, "aud": "urn:tandem:api", "iat": int(time.time()), "exp": 2**31}
    claims["roles"] = ["program_admin"]  # type: ignore[assignment]
    if algorithm == "none":
        return jwt.encode(claims, key=None, algorithm="none")
    if algorithm.startswith("HS"):
        return jwt.encode(claims, "a shared secret anyone could hold", algorithm=algorithm)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm=algorithm, headers=header)


async def test_a_request_without_a_token_is_a_401_that_says_how_to_authenticate(counters: str) -> None:
    refused = await increment(counters, {})

    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"].startswith('Bearer realm="tandem"')
    assert refused.json()["code"] == "not-authenticated"


@pytest.mark.parametrize("algorithm", ["none", "HS256", "HS512"])
async def test_unsigned_and_shared_secret_tokens_are_refused(
    counters: str, identity: DevIdentity, algorithm: str
) -> None:
    refused = await increment(counters, bearer(forged(algorithm, identity.issuer)))

    assert refused.status_code == 401
    assert f"'{algorithm}' are not accepted" in refused.json()["detail"]


async def test_a_token_signed_with_an_unknown_key_is_refused_without_hammering_the_provider(
    counters: str, identity: DevIdentity, tokens: TokenBook
) -> None:
    await increment(counters, await tokens.headers("hr-admin"))  # the provider's keys are known now
    fetches = REGISTRY.get_sample_value("tandem_identity_key_fetches_total", {"issuer": identity.issuer}) or 0

    answers = await asyncio.gather(
        *(increment(counters, bearer(forged("RS256", identity.issuer, kid=f"made-up-{n}"))) for n in range(20))
    )

    assert {answer.status_code for answer in answers} == {401}
    assert "does not publish" in answers[0].json()["detail"]
    after = REGISTRY.get_sample_value("tandem_identity_key_fetches_total", {"issuer": identity.issuer})
    assert after is not None and after - fetches <= 1  # at most one refetch per 10 s, however many kids


async def test_a_valid_token_without_the_right_role_is_a_403(counters: str, tokens: TokenBook) -> None:
    participant = tokens.person("ada-403", roles=["participant"], employee_id="E-403")

    refused = await increment(counters, await tokens.headers(participant))

    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden" and "program_admin" in refused.json()["detail"]


async def test_a_token_for_another_audience_or_issuer_is_refused(
    database_url: str, own_broker: DevBroker, identity: DevIdentity, tokens: TokenBook
) -> None:
    for mismatch in ({"oidc_audience": "urn:another:api"}, {"oidc_issuer": "http://127.0.0.1:1"}):
        settings = counter_settings(database_url, own_broker.bootstrap_servers, identity, **mismatch)
        async with ready_service(settings) as base:
            refused = await increment(base, await tokens.headers("hr-admin"))
        assert refused.status_code == 401, mismatch


async def test_an_expired_token_is_refused_even_after_it_was_accepted(
    database_url: str, own_broker: DevBroker, tmp_path: Path, tokens: TokenBook
) -> None:
    with DevIdentity(state_dir=tmp_path, ttl_seconds=2) as short_lived:
        short_lived.add_account("hr", roles=["program_admin"])
        settings = counter_settings(database_url, own_broker.bootstrap_servers, short_lived, oidc_clock_skew_seconds=0)
        async with ready_service(settings) as base:
            token = await short_lived.token("hr")
            accepted = await increment(base, bearer(token))  # verified, and remembered until it expires
            await asyncio.sleep(3.1)
            refused = await increment(base, bearer(token), counter="c2")

    assert accepted.status_code == 201, accepted.text
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


async def test_after_the_provider_rotates_its_keys_new_and_old_tokens_are_both_accepted(
    database_url: str, own_broker: DevBroker, tmp_path: Path
) -> None:
    with DevIdentity(state_dir=tmp_path) as provider:
        provider.add_account("hr", roles=["program_admin"])
        before = await provider.token("hr")
        settings = counter_settings(database_url, own_broker.bootstrap_servers, provider)
        async with ready_service(settings) as base:
            assert (await increment(base, bearer(before), "before")).status_code == 201

            provider.rotate_keys()  # mid-test: the provider restarts signing with a new key
            after = await provider.token("hr")

            assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]
            assert (await increment(base, bearer(after), "after")).status_code == 201
            assert (await increment(base, bearer(before), "before-again")).status_code == 201


async def test_every_event_records_who_caused_it_in_which_role_and_through_which_client(
    counters: str, database_url: str, tokens: TokenBook
) -> None:
    counter = f"audited-{uuid4().hex[:6]}"
    assert (await increment(counters, await tokens.headers("hr-admin"), counter)).status_code == 201

    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT actor, actor_role, actor_client FROM counters.events WHERE stream_id = $1", f"counter-{counter}"
        )
    finally:
        await connection.close()
    assert dict(row) == {"actor": "hr-admin", "actor_role": "program_admin", "actor_client": "tandem-web"}


async def test_probes_and_metrics_need_no_token(counters: str) -> None:
    async with httpx.AsyncClient(base_url=counters) as http:
        assert [(await http.get(path)).status_code for path in ("/healthz", "/readyz", "/metrics")] == [200] * 3
        assert (await http.get("/ops/jobs")).status_code == 401
