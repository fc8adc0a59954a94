from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from kernel.events_for_tests import registry
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.devidentity import DevIdentity
from tandem_kernel.settings import ServiceSettings
from tandem_kernel.store import EventStore
from tandem_kernel.testing import TokenBook


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    await migrate(database_url, "kernel_test")
    pool = await create_pool(database_url, "kernel_test", min_size=1, max_size=20)
    try:
        yield EventStore(pool, schema="kernel_test", registry=registry())
    finally:
        await pool.close()


@pytest.fixture
async def admin_headers(tokens: TokenBook) -> dict[str, str]:
    """What an HR admin's requests carry: a bearer token from the test provider."""
    return await tokens.headers("hr-admin")


def counter_settings(database_url: str, bootstrap: str, identity: DevIdentity, **overrides: object) -> ServiceSettings:
    """The counters test service's settings: this database, this broker, the test provider."""
    values: dict[str, object] = {
        "service_name": "counters",
        "environment": "test",
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "kafka_topic_partitions": 2,
        "relay_poll_seconds": 0.2,
        "log_format": "text",
        "oidc_issuer": identity.issuer,
        "oidc_audience": identity.audience,
        **overrides,
    }
    return ServiceSettings(**values)  # type: ignore[arg-type]
