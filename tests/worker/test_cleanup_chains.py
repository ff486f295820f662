"""Cleanup chains on a real worker: each deletes what its retention says and nothing else."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from core.audit_chain import seal_batch
from core.db import fetch
from tests.worker.support import Process, seed_secrets, store_v1_v2, wait_until
from worker.chains import ChainKind, is_running, start_chain

pytestmark = pytest.mark.slow

DAY_MS = 24 * 3600 * 1000
BATCH = 50


def finished(kind: ChainKind) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not is_running(kind)

    return check


async def secret_names() -> set[str]:
    return {r["name"] for r in await fetch("SELECT name FROM secrets")}


async def seed_events(count: int, created_at: datetime) -> None:
    """Events, sealed: the events cleanup removes only sealed ones."""
    await fetch(
        "INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)"
        " SELECT gen_random_uuid(), 'seed', 'n-' || i, 'updated', NULL, '{}'::jsonb, $2"
        " FROM generate_series(1, $1) AS i",
        count,
        created_at,
    )
    store = store_v1_v2()
    while not (await seal_batch(store.keyring(), created_at, limit=1000)).is_done:
        pass


async def event_ages(now: datetime) -> dict[int, int]:
    """How many events are how many whole days old."""
    rows = await fetch("SELECT created_at FROM audit_events")
    ages: dict[int, int] = {}
    for row in rows:
        days = (now - row["created_at"]).days
        ages[days] = ages.get(days, 0) + 1
    return ages


async def test_secrets_cleanup_deletes_only_what_expired_before_the_retention(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    now = datetime.now().astimezone()
    forever = await seed_secrets(20, namespace="forever")
    future = await seed_secrets(10, namespace="future", expires_at=now + timedelta(days=1))
    recent = await seed_secrets(30, namespace="recent", expires_at=now - timedelta(days=2))
    old = await seed_secrets(
        120, namespace="old", expires_at=now - timedelta(days=40), moment=now - timedelta(days=50)
    )
    spawn("worker", {**worker_env, "SECRET_STORE_CLEANUP_BATCH": str(BATCH)})

    assert start_chain("cleanup_secrets", actor="admin-id")
    await wait_until(finished("cleanup_secrets"), within=30)
    assert await secret_names() == set(forever + future + recent)

    events = await fetch("SELECT name, type, actor, detail FROM audit_events")
    assert sorted(r["name"] for r in events) == sorted(old)
    assert {(r["type"], r["actor"]) for r in events} == {("deleted", "admin-id")}
    assert {json.loads(r["detail"])["reason"] for r in events} == {"expired_cleanup"}

    assert start_chain("cleanup_secrets", retention_ms=DAY_MS)
    await wait_until(finished("cleanup_secrets"), within=30)
    assert await secret_names() == set(forever + future)


async def test_events_cleanup_deletes_only_events_older_than_the_retention(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    now = datetime.now().astimezone()
    await seed_events(130, now - timedelta(days=200))
    await seed_events(40, now - timedelta(days=100))
    await seed_events(10, now - timedelta(hours=1))
    spawn("worker", {**worker_env, "SECRET_STORE_CLEANUP_BATCH": str(BATCH)})

    assert start_chain("cleanup_events")
    await wait_until(finished("cleanup_events"), within=30)
    assert await event_ages(now) == {100: 40, 0: 10}

    assert start_chain("cleanup_events", retention_ms=90 * DAY_MS)
    await wait_until(finished("cleanup_events"), within=30)
    assert await event_ages(now) == {0: 10}


async def test_a_cleanup_chain_runs_as_many_links_as_its_batches_need(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    now = datetime.now().astimezone()
    await seed_events(3 * BATCH + 1, now - timedelta(days=400))
    # No time budget: every batch is a link of its own.
    env = {
        **worker_env,
        "SECRET_STORE_CLEANUP_BATCH": str(BATCH),
        "SECRET_STORE_LINK_BUDGET_MS": "0",
    }
    worker = spawn("worker", env)

    assert start_chain("cleanup_events", retention_ms=DAY_MS)
    await wait_until(finished("cleanup_events"), within=30)

    await worker.logged("chain finished")
    batches = worker.records("cleanup_events batch")
    assert [(r["step"], r["deleted"], r["done"]) for r in batches] == [
        (0, BATCH, False),
        (1, BATCH, False),
        (2, BATCH, False),
        (3, 1, True),
    ]
    assert len({r["chain_id"] for r in batches}) == 1


async def test_a_link_runs_batches_back_to_back_within_its_budget(
    spawn: Callable[..., Process], worker_env: dict[str, str]
) -> None:
    now = datetime.now().astimezone()
    await seed_events(3 * BATCH + 1, now - timedelta(days=400))
    env = {
        **worker_env,
        "SECRET_STORE_CLEANUP_BATCH": str(BATCH),
        "SECRET_STORE_LINK_BUDGET_MS": "10000",
    }
    worker = spawn("worker", env)

    assert start_chain("cleanup_events", retention_ms=DAY_MS)
    await wait_until(finished("cleanup_events"), within=30)

    await worker.logged("chain finished")
    batches = worker.records("cleanup_events batch")
    # Each batch is still its own transaction and log line, all in the first link.
    assert [(r["step"], r["deleted"], r["done"]) for r in batches] == [
        (0, BATCH, False),
        (0, BATCH, False),
        (0, BATCH, False),
        (0, 1, True),
    ]
