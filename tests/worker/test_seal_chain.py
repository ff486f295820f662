"""The audit sealer: the seal chain on a real worker, started by the scheduler's seal watch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis

from core.audit_verify import verify
from core.db import fetch
from tests.worker.support import Process, store_v1_v2, wait_until
from worker.chains import is_running, lease_for, start_chain
from worker.sealing import ensure_sealing

pytestmark = pytest.mark.usefixtures("empty_audit_log")


async def _unsealed() -> int:
    report = await verify(store_v1_v2().keyring(), store_v1_v2().clock())
    return report.unsealed


async def test_the_seal_watch_starts_a_sealer_only_when_events_wait(
    db: str, chain_redis: redis.Redis[bytes]
) -> None:
    assert not await ensure_sealing()
    assert not is_running("seal")

    await store_v1_v2().put("acme", "k", "v")
    assert await ensure_sealing()
    assert is_running("seal")
    assert not await ensure_sealing()  # one runs already

    chain_redis.delete(lease_for("seal").key)  # its lease lapsed
    assert await ensure_sealing()


@pytest.mark.slow
async def test_a_worker_seals_events_written_under_load_and_the_chain_verifies(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    store = store_v1_v2()
    spawn("worker", worker_env)
    spawn("scheduler", {**worker_env, "SECRET_STORE_SEAL_WATCH_SECONDS": "1"})

    async def writer(index: int, until: float) -> int:
        written = 0
        while time.monotonic() < until:
            await store.put("acme", f"w{index}-{written % 20}", "v")
            written += 1
        return written

    until = time.monotonic() + 4
    written = sum(await asyncio.gather(*(writer(i, until) for i in range(4))))

    async def all_sealed() -> bool:
        return await _unsealed() == 0

    lag = await wait_until(all_sealed, within=30)
    report = await verify(store.keyring(), store.clock())
    assert report.ok, report.problem
    assert (report.checked, report.first_seq, report.last_seq) == (written, 1, written)
    seals = await fetch(
        "SELECT count(DISTINCT key_version) AS n, min(key_version) AS v FROM audit_seals"
    )
    assert (seals[0]["n"], seals[0]["v"]) == (1, 2)  # under the active KEK
    print(f"{written} events, all sealed {lag:.2f} s after the last commit")


@pytest.mark.slow
async def test_two_seal_chains_started_by_hand_share_one_sequence(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    store = store_v1_v2()
    for i in range(200):
        await store.put("acme", f"k{i}", "v")
    spawn("worker", worker_env, threads=4)
    spawn("worker", worker_env, threads=4)
    assert start_chain("seal")
    # A second chain while the first holds the lease joins it.
    assert not start_chain("seal")

    async def all_sealed() -> bool:
        return await _unsealed() == 0

    await wait_until(all_sealed, within=30)
    rows = await fetch("SELECT count(*) AS n, max(seq) AS top FROM audit_seals")
    assert (rows[0]["n"], rows[0]["top"]) == (200, 200)
    assert (await verify(store.keyring(), store.clock())).ok
