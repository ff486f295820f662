"""A slow link or a Redis partition never lets two links of a chain write at once.

Real workers and the scheduler, with the shipped chain settings. Each test
holds the audit table locked so that the running link's batch is stuck in the
middle of its transaction for longer than the lease's lifetime.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import pytest

from tests.worker.support import (
    ROWS,
    Process,
    RedisLine,
    assert_every_row_readable,
    batch_records,
    rotated_events,
    rotation_done,
    seed_secrets,
    store_v1_v2,
    wait_until,
)
from tests.worker.test_resume import audit_events_blocked, audit_table_locked, shipped
from worker.chains import chain_state, start_chain

pytestmark = pytest.mark.slow

# Longer than the shipped lease (6 s) and the scheduler's resume period (2 s).
STUCK_S = 12


async def every_row_rotated_once(names: list[str]) -> None:
    store = store_v1_v2()
    status = await store.rotation_status()
    assert (status.stale, status.counts) == (0, {2: ROWS})
    assert await rotated_events() == (ROWS, ROWS)
    await assert_every_row_readable(store, names)


def moments(records: list[dict[str, object]]) -> list[datetime]:
    return [datetime.fromisoformat(str(r["timestamp"])) for r in records]


async def test_a_slow_link_keeps_its_chain_and_nobody_takes_it_over(
    spawn: Callable[..., Process], worker_env: dict[str, str], database_url: str
) -> None:
    names = await seed_secrets(ROWS)
    env = shipped(worker_env)
    workers = [spawn("worker", env, threads=2), spawn("worker", env, threads=2)]
    assert start_chain("rotation")
    scheduler = spawn("scheduler", env)

    async def under_way() -> bool:
        return (await rotated_events())[0] >= 2_000

    await wait_until(under_way, within=60, interval=0.02)
    async with audit_table_locked(database_url) as blocker:

        async def blocked() -> bool:
            return await audit_events_blocked(blocker)

        await wait_until(blocked, within=20, interval=0.02)
        for _ in range(STUCK_S):
            await asyncio.sleep(1)
            # The stuck link's heartbeat keeps the lease: the chain is running.
            assert chain_state("rotation") == "running"
    await wait_until(rotation_done, within=60)

    await every_row_rotated_once(names)
    assert not scheduler.records("chain resumed")
    records = batch_records(*workers)
    assert len({r["chain_id"] for r in records}) == 1


async def test_a_worker_cut_off_from_redis_never_writes_alongside_the_one_that_took_over(
    spawn: Callable[..., Process], worker_env: dict[str, str], database_url: str, redis_url: str
) -> None:
    names = await seed_secrets(ROWS)
    env = shipped(worker_env)
    async with RedisLine(redis_url) as line:
        cut_off = spawn("worker", {**env, "REDIS_URL": line.url}, threads=2)
        assert start_chain("rotation")
        spawn("scheduler", env)

        async def under_way() -> bool:
            return (await rotated_events())[0] >= 2_000

        await wait_until(under_way, within=60, interval=0.02)
        async with audit_table_locked(database_url) as blocker:

            async def blocked() -> bool:
                return await audit_events_blocked(blocker)

            await wait_until(blocked, within=20, interval=0.02)
            # Its batch is stuck, and its lease can no longer be renewed.
            line.cut()
            other = spawn("worker", env, threads=2)
            await other.ready()

            # Meanwhile its lease lapses, the scheduler resumes the chain, and
            # the new link's fence waits for the stuck batch.
            await asyncio.sleep(STUCK_S)

        # The stuck batch commits now (it passed the fence while its link held
        # the lease), before the new link's first; then its link, whose
        # renewals failed for a whole lease lifetime, runs no other batch.
        async def taken_over() -> bool:
            return bool(batch_records(other))

        await wait_until(taken_over, within=30)
        await asyncio.sleep(2)
        line.mend()
        await wait_until(rotation_done, within=60)

    await every_row_rotated_once(names)
    before, after = batch_records(cut_off), batch_records(other)
    assert before and after
    # No batch of the cut-off worker committed after the new link's first.
    assert max(moments(before)) < min(moments(after))
    assert {r["chain_id"] for r in before}.isdisjoint({r["chain_id"] for r in after})
