"""`GET /api/v1/rotation` says `running` only while a live worker holds the chain."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import redis

from core.settings import Settings

pytestmark = pytest.mark.slow


async def test_a_chain_no_live_worker_renews_stops_counting_as_running(
    client: httpx.AsyncClient, chains: redis.Redis
) -> None:
    started = time.monotonic()
    first = await client.post("/api/v1/rotation")
    assert first.status_code == 202 and first.json()["started"] is True
    assert (await client.get("/api/v1/rotation")).json()["running"] is True

    # No worker runs here, as when the one that took the chain died: nothing
    # renews its lease, which lapses after its shipped lifetime.
    lifetime_s = Settings({}).chains.lease_ttl_ms / 1000
    while (await client.get("/api/v1/rotation")).json()["running"]:
        assert time.monotonic() - started < lifetime_s + 2, "still running"
        await asyncio.sleep(0.2)
    assert time.monotonic() - started > lifetime_s - 1
