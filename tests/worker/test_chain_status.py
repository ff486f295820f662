"""What `secretstore status` says of each chain: its state and when its last link ran."""

from __future__ import annotations

import asyncio
import json

import redis

from core.db import fetch, transaction
from core.queries import chain_fences
from tests.cli.support import clean_env, run_cli
from tests.worker.conftest import PREFIX
from tests.worker.support import KEYS_V1_V2
from worker.chains import chain_state, lease_for, start_chain


async def test_status_shows_a_stalled_chain_and_when_each_chain_last_ran(
    db: str, redis_url: str, chain_redis: redis.Redis[bytes]
) -> None:
    await fetch("DELETE FROM chain_fences")  # left by earlier tests of the session
    fence = await chain_fences.take("rotation")
    async with transaction():
        assert await chain_fences.pass_fence("rotation", fence, idle_timeout_ms=6000)
    assert start_chain("rotation")
    chain_redis.delete(lease_for("rotation").key)  # its worker died
    assert chain_state("rotation") == "resuming"
    assert start_chain("cleanup_secrets")
    env = clean_env(
        DATABASE_URL=db,
        REDIS_URL=redis_url,
        SECRET_STORE_REDIS_PREFIX=PREFIX,
        SECRET_STORE_KEYS=KEYS_V1_V2,
    )

    as_json = await asyncio.to_thread(run_cli, "status", "--json", env=env)
    as_table = await asyncio.to_thread(run_cli, "status", env=env)

    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    # A chain whose worker is dead is not running.
    assert document["running"] is False
    chains = document["chains"]
    assert chains["rotation"]["state"] == "resuming"
    assert chains["rotation"]["last_batch_at"].endswith("Z")
    assert chains["cleanup_secrets"] == {"state": "running", "last_batch_at": None}
    assert chains["cleanup_events"] == {"state": "idle", "last_batch_at": None}
    assert as_table.returncode == 0, as_table.stderr
    assert "stalled, resuming" in as_table.stdout
    assert "s ago)" in as_table.stdout and "never" in as_table.stdout
