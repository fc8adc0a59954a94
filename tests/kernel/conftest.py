from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from kernel.events_for_tests import registry
from tandem_kernel.database import create_pool, migrate
from tandem_kernel.store import EventStore


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[EventStore]:
    await migrate(database_url, "kernel_test")
    pool = await create_pool(database_url, "kernel_test", min_size=1, max_size=20)
    try:
        yield EventStore(pool, schema="kernel_test", registry=registry())
    finally:
        await pool.close()
