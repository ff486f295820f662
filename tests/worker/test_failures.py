"""How links fail: passing errors are retried until they pass, domain errors end the chain."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import asyncpg
import pytest

from tests.services import drop_database, migrate, with_database
from tests.worker.support import Process, wait_until
from worker.chains import is_running, start_chain

pytestmark = pytest.mark.slow


async def test_a_link_retries_a_database_that_is_not_there_yet_and_then_finishes(
    spawn: Callable[..., Process], worker_env: dict[str, str], server_url: str
) -> None:
    name = f"secretstore_late_{uuid.uuid4().hex[:12]}"
    late_url = with_database(server_url, name)
    worker = spawn("worker", {**worker_env, "DATABASE_URL": late_url})
    try:
        assert start_chain("rotation")

        async def retrying() -> bool:
            return bool(worker.records("Retrying message"))

        await wait_until(retrying, within=20)
        assert is_running("rotation")

        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        migrate(late_url)

        async def finished() -> bool:
            return not is_running("rotation")

        await wait_until(finished, within=30)
        await worker.logged("chain finished")
        [last] = worker.records("rotation batch")
        assert last["done"] is True
    finally:
        worker.stop()
        await drop_database(server_url, late_url)


async def test_a_broken_key_configuration_ends_the_chain_without_retries(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    # Well-formed base64 of 31 bytes: a KEK of the wrong length.
    bad_material = base64.b64encode(bytes(range(100, 131))).decode()
    worker = spawn("worker", {**worker_env, "SECRET_STORE_KEYS": f"1:{bad_material}"})
    assert start_chain("rotation")

    async def finished() -> bool:
        return not is_running("rotation")

    await wait_until(finished, within=20)
    [stopped] = await worker.logged("chain stopped by an error")
    assert stopped["code"] == "invalid_keys"
    await worker.logged("Retries exceeded")
    assert not worker.records("Retrying message")
    assert bad_material not in worker.log_text()
    # The lease was freed: the next trigger starts a chain instead of joining a dead one.
    assert start_chain("rotation")
