import asyncio

import asyncpg
import pytest

from tests.cli.support import clean_env, run_cli
from tests.services import create_database, drop_database

pytestmark = pytest.mark.slow


async def test_migrate_creates_the_tables_and_is_idempotent(server_url: str) -> None:
    url = await create_database(server_url)
    try:
        env = clean_env(DATABASE_URL=url)
        first = await asyncio.to_thread(run_cli, "migrate", env=env)
        second = await asyncio.to_thread(run_cli, "migrate", env=env)
        connection = await asyncpg.connect(url)
        try:
            tables = {
                row["tablename"]
                for row in await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        finally:
            await connection.close()
    finally:
        await drop_database(server_url, url)

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert {"secrets", "audit_events", "api_tokens"} <= tables


def test_migrate_needs_database_url() -> None:
    result = run_cli("migrate", env=clean_env())

    assert result.returncode == 1
    assert "DATABASE_URL is not set" in result.stderr


def test_migrate_fails_when_the_database_is_unreachable() -> None:
    result = run_cli("migrate", env=clean_env(DATABASE_URL="postgresql://x@127.0.0.1:1/none"))

    assert result.returncode == 1
