"""The fence in the database: a superseded link's batch writes nothing (docs/adr/0011).

These run the worker's batch path (``run_fenced_batches``) in this process on
the real database; the process tests in test_resume.py pause and kill real
workers around it.
"""

from __future__ import annotations

import asyncio
import threading

import asyncpg
import pytest
import redis

from core.db import fetch_one, transaction
from core.queries import chain_fences
from tests.worker.support import rotated_events, seed_secrets, store_v1_v2
from worker.actors import batches
from worker.chains import BatchReport, Fenced, Link, lease_for, run_fenced_batches
from worker.fence import Fence
from worker.lease import ChainLease


async def rotate(link: Link) -> BatchReport:
    batch = await store_v1_v2().rotate_batch(batches().rotation_batch_size)
    return BatchReport(batch.is_done, {"rotated": batch.rotated})


async def stale_rows() -> int:
    row = await fetch_one("SELECT count(*) AS n FROM secret_versions WHERE key_version = 1")
    assert row is not None
    return int(row["n"])


def fence_of(lease: ChainLease, link: Link) -> Fence:
    async def holds_lease() -> bool:
        return await asyncio.to_thread(lease.renew, link.holder)

    return Fence("rotation", holds_lease, idle_timeout_ms=6000)


async def run(link: Link, fence: Fence) -> BatchReport:
    return await run_fenced_batches(
        "rotation", link, rotate, fence=fence, budget_s=10, lost=threading.Event()
    )


async def test_a_link_whose_chain_was_taken_over_writes_nothing(
    db: str, chain_redis: redis.Redis[bytes]
) -> None:
    await seed_secrets(250)
    lease = lease_for("rotation")
    old, new = Link.first(None, None), Link.first(None, None)
    assert lease.claim_work(old.holder, {"token": old.lease_token})
    old_fence = fence_of(lease, old)
    await old_fence.take()
    chain_redis.delete(lease.key)  # the old link's worker was paused; its lease lapsed
    assert lease.claim_work(new.holder, {"token": new.lease_token})
    await fence_of(lease, new).take()

    # The old link wakes: its batch finds the fence moved on and its lease gone.
    with pytest.raises(Fenced):
        await run(old, old_fence)
    assert await stale_rows() == 250
    assert await rotated_events() == (0, 0)


async def test_a_link_paused_before_taking_its_number_neither_writes_nor_stops_the_new_one(
    db: str, chain_redis: redis.Redis[bytes]
) -> None:
    await seed_secrets(250)
    lease = lease_for("rotation")
    old, new = Link.first(None, None), Link.first(None, None)
    assert lease.claim_work(old.holder, {"token": old.lease_token})
    chain_redis.delete(lease.key)  # paused after entering the lease, before its number
    assert lease.claim_work(new.holder, {"token": new.lease_token})
    new_fence = fence_of(lease, new)
    first = await new_fence.take()

    # The old link wakes and takes a number after the new one's, then finds
    # its lease gone: it stops before any batch.
    with pytest.raises(Fenced):
        await fence_of(lease, old).take()
    # The new link, still holding the lease, takes a newer number and goes on.
    report = await run(new, new_fence)
    assert report.is_done
    assert new_fence.number is not None and new_fence.number > first + 1
    assert await stale_rows() == 0
    assert await rotated_events() == (250, 250)
    assert (await chain_fences.last_batches())["rotation"] is not None


async def test_a_takeover_waits_for_the_batch_under_way(db: str) -> None:
    fence = await chain_fences.take("cleanup_events")
    passed = asyncio.Event()
    finish = asyncio.Event()

    async def batch_under_way() -> None:
        async with transaction():
            assert await chain_fences.pass_fence("cleanup_events", fence, idle_timeout_ms=6000)
            passed.set()
            await finish.wait()

    under_way = asyncio.create_task(batch_under_way())
    await passed.wait()
    takeover = asyncio.create_task(chain_fences.take("cleanup_events"))
    await asyncio.sleep(0.3)
    # The new number waits on the row the batch holds until that batch ends.
    assert not takeover.done()
    finish.set()
    await under_way
    assert await takeover == fence + 1


async def test_a_batch_paused_in_its_transaction_is_ended_by_the_database(db: str) -> None:
    fence = await chain_fences.take("cleanup_secrets")

    async def paused_batch() -> None:
        async with transaction():
            assert await chain_fences.pass_fence("cleanup_secrets", fence, idle_timeout_ms=300)
            await asyncio.sleep(1.0)  # as a stopped process, between two statements
            await fetch_one("SELECT 1")

    # PostgreSQL closed its connection: nothing of the batch can commit. (A
    # task of its own, as each batch of a worker is.)
    with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresError, ConnectionError)):
        await asyncio.create_task(paused_batch())
    # The row it held is free: a takeover goes on at once.
    assert await asyncio.wait_for(chain_fences.take("cleanup_secrets"), 2) == fence + 1
