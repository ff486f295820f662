import asyncio
import json
import secrets
from typing import Any

import pytest

from core.keys import define_keys, parse_keys
from core.store import SecretStore
from tests.cli.support import clean_env, run_cli

pytestmark = pytest.mark.slow

KEK_1 = secrets.token_bytes(32)
KEK_2 = secrets.token_bytes(32)


async def test_status_counts_stale_rows_after_a_key_version_is_added(db: str) -> None:
    old_ring = parse_keys(define_keys({1: KEK_1}))
    store: SecretStore[str, dict[str, Any]] = SecretStore(lambda: old_ring)
    for index in range(3):
        await store.put("acme", f"S{index}", f"value {index}")
    env = clean_env(DATABASE_URL=db, SECRET_STORE_KEYS=define_keys({1: KEK_1, 2: KEK_2}))

    as_json = await asyncio.to_thread(run_cli, "status", "--json", env=env)
    as_table = await asyncio.to_thread(run_cli, "status", env=env)

    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["active_version"] == 2
    assert document["counts"] == {"1": 3}
    assert document["stale"] == 3
    assert document["complete"] is False
    assert document["running"] is None  # no REDIS_URL: not known
    assert "configured, stale" in as_table.stdout


async def test_status_without_keys_fails_with_invalid_keys(db: str) -> None:
    result = await asyncio.to_thread(run_cli, "status", env=clean_env(DATABASE_URL=db))

    assert result.returncode == 1
    assert "invalid_keys" in result.stderr


def test_rotate_needs_redis() -> None:
    env = clean_env(
        DATABASE_URL="postgresql://x@127.0.0.1:1/none", SECRET_STORE_KEYS=define_keys({1: KEK_1})
    )

    result = run_cli("rotate", env=env)

    assert result.returncode == 1
    assert "REDIS_URL is not set" in result.stderr


def test_cleanup_refuses_a_retention_that_is_not_positive() -> None:
    result = run_cli("cleanup", "events", "--retention-ms", "0", env=clean_env())

    assert result.returncode == 1
    assert "invalid_argument" in result.stderr


def test_cleanup_names_only_secrets_or_events() -> None:
    result = run_cli("cleanup", "tokens", env=clean_env())

    assert result.returncode == 2
