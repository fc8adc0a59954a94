"""Pytest fixtures for tests that hit real infrastructure: a fresh PostgreSQL database per test and
a real Kafka-protocol broker per session. Loaded as a plugin by the repository's conftest."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tandem_kernel.devbroker import DevBroker

__all__ = ["ADMIN_DSN", "broker", "database_url", "fresh_database"]

ADMIN_DSN = os.environ.get("TANDEM_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


class fresh_database:
    """`async with fresh_database() as dsn:` a new, empty database that is dropped afterwards."""

    def __init__(self, prefix: str = "tandem_test") -> None:
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        base, _, _ = ADMIN_DSN.rpartition("/")
        self.dsn = f"{base}/{self.name}"

    async def __aenter__(self) -> str:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()
        return self.dsn

    async def __aexit__(self, *exc_info: object) -> None:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A DSN of a brand-new database, dropped after the test."""
    async with fresh_database() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def broker() -> Iterator[DevBroker]:
    """A real Kafka-protocol broker (Tansu) for the whole test session."""
    with DevBroker() as running:
        yield running
