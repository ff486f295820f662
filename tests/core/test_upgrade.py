"""An upgrade from the schema before versions keeps every secret readable (ADR 0010)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from core.crypto import Location, seal
from core.db import DB
from core.errors import SecretStoreError
from core.store import SecretStore
from tests.core.conftest import KEY_1, MutableKeys
from tests.services import ROOT, create_database, drop_database

BEFORE_VERSIONS = "2026-11-29T00:00:01:000000"


def _migrate(url: str, *target: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "core", *target],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


@pytest.fixture
async def old_database(server_url: str) -> AsyncIterator[str]:
    url = await create_database(server_url)
    _migrate(url, BEFORE_VERSIONS)
    yield url
    await drop_database(server_url, url)


async def _write_as_before(url: str, namespace: str, name: str, value: str) -> None:
    """A put exactly as the code before versions stored it: (namespace, name) AAD."""
    sealed = seal(value, location=Location.legacy(namespace, name), kek=KEY_1, key_version=1)
    now = datetime.now(UTC)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO secrets (id, namespace, name, ciphertext, value_nonce, wrapped_dek,"
            " dek_nonce, key_version, metadata, created_at, updated_at, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $9, NULL)",
            uuid.uuid4(),
            namespace,
            name,
            sealed.ciphertext,
            sealed.value_nonce,
            sealed.wrapped_dek,
            sealed.dek_nonce,
            1,
            now,
        )
    finally:
        await connection.close()


async def test_secrets_written_before_versions_read_after_the_upgrade(
    old_database: str, db_pool: str
) -> None:
    await _write_as_before(old_database, "acme", "API_KEY", "before the upgrade")
    await _write_as_before(old_database, "acme", "OTHER", "another")
    _migrate(old_database)

    session_pool, session_config = DB.pool, DB.config
    DB.pool, DB.config = None, {"dsn": old_database}
    try:
        await DB.start_connection_pool(min_size=1, max_size=2)
        store: SecretStore = SecretStore(MutableKeys({1: KEY_1}))
        secret = await store.get_or_raise("acme", "API_KEY")
        assert (secret.value, secret.info.version) == ("before the upgrade", 1)
        # the next write is version 2, in the current layout; version 1 stays readable
        assert (await store.put("acme", "API_KEY", "after")).info.version == 2
        assert (await store.get_or_raise("acme", "API_KEY")).value == "after"
        older = await store.get_or_raise("acme", "API_KEY", version=1)
        assert older.value == "before the upgrade"
        # a legacy ciphertext copied onto version 2, marker and all, does not decrypt
        connection = DB.pool
        assert connection is not None
        await connection.execute(
            "UPDATE secret_versions AS a SET ciphertext = o.ciphertext,"
            " value_nonce = o.value_nonce, wrapped_dek = o.wrapped_dek,"
            " dek_nonce = o.dek_nonce, aad_layout = o.aad_layout"
            " FROM secret_versions AS o WHERE a.secret_id = o.secret_id"
            " AND a.version = 2 AND o.version = 1"
        )
        with pytest.raises(SecretStoreError) as error:
            await store.get("acme", "API_KEY")
        assert error.value.code == "decryption_failed"
        assert (await store.get_or_raise("acme", "OTHER")).value == "another"
    finally:
        await DB.close_connection_pool()
        DB.pool, DB.config = session_pool, session_config
