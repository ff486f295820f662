from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.services import create_database, drop_database, migrate


@pytest.fixture(scope="session")
def embedded_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object | None]:
    """Private PostgreSQL and Redis from the wheels, when the environment names none."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        yield None
        return
    from cli.embedded import start_embedded

    # Not under pytest's basetemp: pytest prunes old basetemp directories when
    # another session starts, which would pull the data from under a running server.
    data_dir = Path(tempfile.mkdtemp(prefix="secretstore-tests-"))
    services = start_embedded(data_dir)
    try:
        yield services
    finally:
        services.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server_url(embedded_services: object | None) -> str:
    return os.environ.get("DATABASE_URL") or embedded_services.database_url  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def redis_url(embedded_services: object | None) -> str:
    return os.environ.get("REDIS_URL") or embedded_services.redis_url  # type: ignore[union-attr]


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A migrated database of this test session's own."""
    url = await create_database(server_url)
    migrate(url)
    yield url
    from core.db import close_pool

    await close_pool()
    await drop_database(server_url, url)


@pytest.fixture(scope="session")
async def db_pool(database_url: str) -> AsyncIterator[str]:
    from core.db import configure_database, open_pool

    configure_database(database_url)
    await open_pool(min_size=2, max_size=20)
    yield database_url


@pytest.fixture
async def db(db_pool: str) -> AsyncIterator[str]:
    """The session database, emptied after the test."""
    yield db_pool
    from core.db import fetch

    # DELETE rather than TRUNCATE: a test leaves a few rows, and TRUNCATE
    # replaces each table's files, which costs some 50 ms per test.
    for table in (
        "secret_versions",
        "secrets",
        "audit_events",
        "api_tokens",
        "audit_seals",
        "audit_chain",
    ):
        await fetch(f"DELETE FROM {table}")


@pytest.fixture
async def empty_audit_log(db: str) -> str:
    """The audit log emptied before the test too: tests that check the whole
    audit chain must not see the events of a deployment that shares the
    session database (the e2e tests') and empties nothing."""
    from core.db import fetch

    for table in ("audit_events", "audit_seals", "audit_chain"):
        await fetch(f"DELETE FROM {table}")
    return db
