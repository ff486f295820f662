"""Fixtures for the worker tests: a Redis namespace of this session's own and real workers.

The Redis key prefix (leases, leader lock, Dramatiq's queues) is set before any
broker exists, so parallel test sessions on one Redis never see each other's
chains, and the keys are deleted around every test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.keys import KEYS_V1_V2
from tests.support import delete_prefix
from tests.worker.support import Process, scheduler_command, worker_command

PREFIX = f"secretstore-test-{uuid.uuid4().hex[:12]}"
os.environ["SECRET_STORE_REDIS_PREFIX"] = PREFIX

# Quick queue maintenance, and a heartbeat timeout short enough for a test to
# watch a dead worker's link come back through Dramatiq yet long enough that a
# live worker on a loaded machine is not taken for dead. The chain leases keep
# their shipped lifetime; the resume tests (test_resume.py) use none of these.
TEST_WORKER_ENV = {
    "SECRET_STORE_BROKER_HEARTBEAT_MS": "15000",
    "SECRET_STORE_BROKER_MAINTENANCE_CHANCE": "1000000",
    "SECRET_STORE_LINK_TIME_LIMIT_MS": "20000",
}


@pytest.fixture(scope="session")
def chain_redis(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    """The broker of this test process, installed on the session's Redis and prefix."""
    from worker.broker import installed

    setup = installed(redis_url)
    assert setup.config.redis_prefix == PREFIX, "the broker was set up before the worker tests"
    yield setup.client
    delete_prefix(setup.client, PREFIX)


@pytest.fixture(autouse=True)
def clean_redis(chain_redis: redis.Redis[bytes]) -> Iterator[None]:
    delete_prefix(chain_redis, PREFIX)
    yield
    delete_prefix(chain_redis, PREFIX)


@pytest.fixture
def worker_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of a deployment's worker and scheduler, pointed at the test services."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_STORE_KEYS": KEYS_V1_V2,
        "SECRET_STORE_REDIS_PREFIX": PREFIX,
        **TEST_WORKER_ENV,
    }


@pytest.fixture
def spawn(db: str, tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Starts workers (``spawn("worker", env)``) and schedulers; stops them after the test.

    It depends on ``db`` so that every process is gone before the tables are emptied.
    """
    started: list[Process] = []

    def start(kind: str, env: dict[str, str], *, threads: int = 4) -> Process:
        command = worker_command(threads) if kind == "worker" else scheduler_command()
        process = Process(command, env, tmp_path / f"{kind}-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.popen.poll() is None:
            process.stop()
