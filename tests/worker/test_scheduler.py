"""The scheduler: its watchdog, its leader lock, and its configuration."""

from __future__ import annotations

import logging
import subprocess
import threading
import uuid
from collections.abc import Callable

import pytest
import redis

from core.db import fetch
from tests.keys import KEY_1_REPLACED
from tests.support import ROOT
from tests.worker.support import (
    Process,
    rotated_events,
    rotation_done,
    scheduler_command,
    seed_secrets,
    store_v1_v2,
    wait_until,
)
from worker.chains import is_running, lease_for, start_chain
from worker.lease import Lease
from worker.scheduler import Leadership, ensure_rotation


async def test_the_watchdog_starts_a_rotation_only_when_rewrappable_rows_wait(
    db: str, chain_redis: redis.Redis[bytes]
) -> None:
    store = store_v1_v2()
    await seed_secrets(5, version=7)
    await seed_secrets(5, kek=KEY_1_REPLACED)
    await store.rotate_batch()  # marks the rows KEK 1 cannot unwrap
    assert not await ensure_rotation(store)
    assert not is_running("rotation")

    await seed_secrets(5)
    assert start_chain("rotation")
    assert not await ensure_rotation(store)  # a chain already runs

    chain_redis.delete(lease_for("rotation").key)  # its lease lapsed
    assert await ensure_rotation(store)
    assert is_running("rotation")


class _SlowLease(Lease):
    """A lease whose holders all return together, as jobs started at once can."""

    def __init__(self, client: redis.Redis[bytes], key: str, *, holders: int) -> None:
        super().__init__(client, key, 30_000)
        self._together = threading.Barrier(holders)

    def hold(self, holder: str, *, after: str | None = None) -> bool:
        held = super().hold(holder, after=after)
        try:
            self._together.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pass  # the holders took turns
        return held


def test_jobs_starting_together_take_the_leadership_once(
    chain_redis: redis.Redis[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    key = f"test:leader:{uuid.uuid4().hex}"
    leadership = Leadership(_SlowLease(chain_redis, key, holders=8))
    threads = [threading.Thread(target=leadership.hold) for _ in range(8)]
    with caplog.at_level(logging.INFO, logger="secretstore"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert leadership.leading
    taken = [r for r in caplog.records if r.getMessage() == "scheduler leadership taken"]
    assert len(taken) == 1


def started_by_scheduler(processes: list[Process]) -> int:
    return sum(
        1
        for process in processes
        for record in process.log_records()
        if record.get("event") == "rotation chain started by the scheduler"
    )


def took_leadership(process: Process) -> bool:
    return any(r.get("event") == "scheduler leadership taken" for r in process.log_records())


@pytest.mark.slow
async def test_two_schedulers_restart_a_stalled_rotation_once_and_hand_over_leadership(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    # Stale rows and no chain: as after a chain whose lease lapsed and whose
    # messages were lost.
    await seed_secrets(1_000)
    env = {**worker_env, "SECRET_STORE_WATCHDOG_SECONDS": "1"}
    spawn("worker", env)
    schedulers = [spawn("scheduler", env), spawn("scheduler", env)]

    async def rotated() -> bool:
        return await rotation_done() and (await rotated_events())[0] == 1_000

    await wait_until(rotated, within=45)
    assert (await store_v1_v2().rotation_status()).stale == 0
    actors = await fetch("SELECT DISTINCT actor FROM audit_events")
    assert [r["actor"] for r in actors] == ["scheduler"]
    assert started_by_scheduler(schedulers) == 1
    leaders = [s for s in schedulers if took_leadership(s)]
    assert len(leaders) == 1

    [leader] = leaders
    [follower] = [s for s in schedulers if s is not leader]
    leader.stop()

    async def follower_leads() -> bool:
        return took_leadership(follower)

    await wait_until(follower_leads, within=15)


@pytest.mark.slow
def test_the_scheduler_refuses_a_malformed_cron(worker_env: dict[str, str]) -> None:
    done = subprocess.run(
        scheduler_command(),
        cwd=ROOT,
        env={**worker_env, "SECRET_STORE_CLEANUP_CRON": "every night"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "SECRET_STORE_CLEANUP_CRON" in done.stderr
