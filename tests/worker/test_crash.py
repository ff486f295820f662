"""A worker killed with SIGKILL in the middle of a rotation batch loses nothing.

To kill it mid-batch for certain, the test holds an EXCLUSIVE lock on the audit
table: the next batch claims and rewraps its rows, then blocks on writing their
``rotated`` events. That is when the worker dies. Nobody restarts the chain by
hand, and no scheduler runs to resume it: a new worker process gets the dead
worker's unacked link back from Dramatiq's Redis broker once the dead worker's
heartbeat lapses, and that link, of the chain that still owns the work, takes
the lapsed lease. (test_resume.py covers the default path, with a scheduler.)
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import asyncpg
import pytest

from core.db import fetch_one
from tests.worker.support import (
    ROWS,
    Process,
    assert_every_row_readable,
    batch_records,
    rotated_events,
    rotation_done,
    seed_secrets,
    store_v1_v2,
    wait_until,
)
from worker.chains import chain_state, is_running, start_chain

pytestmark = pytest.mark.slow

pytestmark = pytest.mark.slow


async def rotated_rows() -> int:
    row = await fetch_one("SELECT count(*) AS n FROM secret_versions WHERE key_version = 2")
    assert row is not None
    return int(row["n"])


async def test_a_worker_killed_mid_batch_loses_nothing_and_the_chain_resumes_by_itself(
    spawn: Callable[..., Process], worker_env: dict[str, str], database_url: str
) -> None:
    names = await seed_secrets(ROWS)
    # The dead worker's link comes back once its heartbeat is 2 s old.
    worker_env = {**worker_env, "SECRET_STORE_BROKER_HEARTBEAT_MS": "2000"}
    first = spawn("worker", worker_env, threads=2)
    assert start_chain("rotation")

    async def under_way() -> bool:
        return (await rotated_events())[0] >= 2_000

    await wait_until(under_way, within=60, interval=0.02)

    blocker = await asyncpg.connect(database_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE audit_events IN EXCLUSIVE MODE")

        async def batch_blocked() -> bool:
            waiting = await blocker.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return bool(waiting)

        await wait_until(batch_blocked, within=20, interval=0.02)
        committed = await rotated_rows()

        async def committed_batches_logged() -> bool:
            return bool(sum(r["rotated"] for r in batch_records(first)) == committed)

        await wait_until(committed_batches_logged, within=10, interval=0.02)
        first.kill()
        await transaction.rollback()
    finally:
        await blocker.close()

    async def dead_session_gone() -> bool:
        row = await fetch_one(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        return row is not None and row["n"] == 0

    await wait_until(dead_session_gone, within=20)
    # The killed batch rolled back whole: no rewrap without its event, none lost.
    assert await rotated_rows() == committed
    assert await rotated_events() == (committed, committed)
    assert 2_000 <= committed < ROWS

    # Within one lease lifetime the dead chain no longer counts as running (the
    # API's "running"); it still owns its work, and no scheduler runs here to
    # resume it.
    async def not_running() -> bool:
        return not is_running("rotation")

    await wait_until(not_running, within=10)
    assert chain_state("rotation") == "resuming"

    second = spawn("worker", worker_env, threads=2)
    await wait_until(rotation_done, within=60)

    store = store_v1_v2()
    status = await store.rotation_status()
    assert (status.stale, status.counts) == (0, {2: ROWS})
    assert await rotated_events() == (ROWS, ROWS)
    await assert_every_row_readable(store, names)

    before, after = batch_records(first), batch_records(second)
    # The second worker ran the very link the first was killed in, of the same
    # chain: the link of the last committed batch, or the one it had handed on to.
    assert {r["chain_id"] for r in before} == {r["chain_id"] for r in after}
    assert before[-1]["step"] <= after[0]["step"] <= before[-1]["step"] + 1
    assert sum(r["rotated"] for r in before) == committed
    assert sum(r["rotated"] for r in before + after) == ROWS


async def test_a_worker_stopped_through_its_process_group_exits_promptly(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    worker = spawn("worker", worker_env)
    await worker.ready()
    started = time.monotonic()
    # honcho and systemd signal the whole group, so the worker process gets
    # SIGTERM from them and again from Dramatiq's main process.
    worker.signal_group(signal.SIGTERM)
    worker.popen.wait(timeout=15)
    assert time.monotonic() - started < 10
