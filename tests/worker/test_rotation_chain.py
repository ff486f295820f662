"""Rotation chains on real Dramatiq worker processes, against PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.db import fetch
from tests.keys import KEY_1_REPLACED, KEYS_V1_V2
from tests.worker.support import (
    ROWS,
    Process,
    assert_every_row_readable,
    batch_records,
    rotated_events,
    rotation_done,
    seed_secrets,
    store_v1_v2,
    value_of,
    wait_until,
)
from worker.chains import is_running, start_chain

pytestmark = pytest.mark.slow


async def test_ten_concurrent_triggers_make_one_chain_that_rotates_every_row_once(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    names = await seed_secrets(ROWS)
    workers = [spawn("worker", worker_env, threads=4) for _ in range(2)]
    for worker in workers:
        await worker.ready()
    barrier = threading.Barrier(10)

    def trigger() -> bool:
        barrier.wait()
        return start_chain("rotation", actor="admin-token-id")

    started_at = time.monotonic()
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: trigger(), range(10)))
    assert sorted(results) == [False] * 9 + [True]
    assert is_running("rotation")

    await wait_until(rotation_done, within=90)
    elapsed = time.monotonic() - started_at

    store = store_v1_v2()
    status = await store.rotation_status()
    assert (status.stale, status.counts) == (0, {2: ROWS})
    assert await rotated_events() == (ROWS, ROWS)
    actors = await fetch("SELECT DISTINCT actor FROM audit_events WHERE type = 'rotated'")
    assert [r["actor"] for r in actors] == ["admin-token-id"]
    await assert_every_row_readable(store, names)

    async def all_logged() -> bool:
        return bool(sum(r["rotated"] for r in batch_records(*workers)) >= ROWS)

    await wait_until(all_logged, within=10)
    # One chain: its steps follow one another, each run by one worker process.
    batches = batch_records(*workers)
    assert len({r["chain_id"] for r in batches}) == 1
    steps = [{r["step"] for r in batch_records(worker)} for worker in workers]
    assert not steps[0] & steps[1]
    assert steps[0] | steps[1] == set(range(max(steps[0] | steps[1]) + 1))
    assert sum(r["rotated"] for r in batches) == ROWS
    logs = "".join(worker.log_text() for worker in workers)
    assert value_of("") not in logs
    keks = [entry.split(":", 1)[1] for entry in KEYS_V1_V2.split(",")]
    assert not any(kek in logs for kek in keks)
    links = len(steps[0] | steps[1])
    print(f"\n10k rotation: {elapsed:.1f} s, {ROWS / elapsed:.0f} rows/s, {links} links")


async def test_a_store_of_orphans_and_unrewrappable_rows_stops_the_chain_at_once(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    # Version 7 is not configured (orphans); version 1 rows sealed under other
    # material than the configured KEK 1 cannot be unwrapped by it.
    await seed_secrets(150, version=7, kek=KEY_1_REPLACED)
    await seed_secrets(250, kek=KEY_1_REPLACED)
    good = await seed_secrets(30)
    worker = spawn("worker", worker_env)

    assert start_chain("rotation")
    await wait_until(rotation_done, within=30)
    await worker.logged("chain finished")
    await asyncio.sleep(1)

    assert not is_running("rotation")
    status = await store_v1_v2().rotation_status()
    assert (status.stale, status.orphans, status.unrewrappable) == (250, 150, 250)
    assert await rotated_events() == (len(good), len(good))
    batches = batch_records(worker)
    # 280 claimable rows at 100 a batch: three batches and the chain ends.
    assert len(batches) == 3
    assert batches[-1]["done"] is True

    # A second run passes over the same rows without spinning either.
    assert start_chain("rotation")
    await wait_until(rotation_done, within=30)
    await worker.logged("chain finished", count=2)
    assert len(batch_records(worker)) == 4
