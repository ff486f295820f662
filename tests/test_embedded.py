"""The embedded PostgreSQL and Redis of cli/embedded/, started for real.

Each test uses its own data directory, never the servers a test session may
share, so it can stop, kill and restart them.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import psutil
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker

from cli.embedded import EmbeddedServices, start_embedded, wait_for_redis

pytestmark = pytest.mark.slow

Start = Callable[[Path], EmbeddedServices]


@pytest.fixture
def start() -> Iterator[Start]:
    """start_embedded, with every server it started stopped after the test."""
    started: list[EmbeddedServices] = []

    def _start(data_dir: Path) -> EmbeddedServices:
        services = start_embedded(data_dir)
        started.append(services)
        return services

    yield _start
    for services in reversed(started):
        services.stop()


def redis_client(services: EmbeddedServices) -> redis.Redis:
    return redis.Redis.from_url(services.redis_url, socket_connect_timeout=2)


def postgres_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def redis_pid(data_dir: Path) -> int:
    return int((data_dir / "redis" / "redis.pid").read_text())


def is_gone(pid: int) -> bool:
    # A zombie counts as gone: where init does not reap orphans, a stopped
    # server that we did not start stays one.
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


async def test_servers_work_and_the_database_survives_a_restart(
    start: Start, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    services = start(data_dir)

    connection = await asyncpg.connect(services.database_url)
    try:
        assert await connection.fetchval("SELECT current_database()") == "secretstore"
        await connection.execute("CREATE TABLE kept (value text)")
        await connection.execute("INSERT INTO kept VALUES ('hello')")
    finally:
        await connection.close()
    with redis_client(services) as client:
        client.set("key", "value")
        assert client.get("key") == b"value"
    broker = RedisBroker(url=services.redis_url)
    try:
        assert broker.client.ping()
    finally:
        broker.close()

    services.stop()
    services.stop()
    with pytest.raises(OSError):
        await asyncpg.connect(services.database_url)
    with pytest.raises(TimeoutError):
        wait_for_redis(services.redis_url, timeout=0.2)

    again = start(data_dir)
    assert again.database_url == services.database_url
    assert again.redis_url == services.redis_url
    connection = await asyncpg.connect(again.database_url)
    try:
        assert await connection.fetchval("SELECT value FROM kept") == "hello"
    finally:
        await connection.close()
    with redis_client(again) as client:
        assert client.get("key") is None  # Redis keeps nothing across restarts


async def test_servers_left_running_are_reused(start: Start, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    abandoned = start(data_dir)  # as by a process that died without stopping them
    pids = postgres_pid(data_dir), redis_pid(data_dir)

    services = start(data_dir)
    assert (postgres_pid(data_dir), redis_pid(data_dir)) == pids
    assert services == abandoned
    connection = await asyncpg.connect(services.database_url)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()

    services.stop()
    assert all(is_gone(pid) for pid in pids)
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    abandoned.stop()


async def test_servers_killed_outright_are_replaced(start: Start, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    services = start(data_dir)
    connection = await asyncpg.connect(services.database_url)
    try:
        await connection.execute("CREATE TABLE kept (value text)")
        await connection.execute("INSERT INTO kept VALUES ('hello')")
    finally:
        await connection.close()

    # Lock files, pid files and sockets stay behind, naming dead (or zombie) pids.
    postmaster = psutil.Process(postgres_pid(data_dir))
    victims = [postmaster, *postmaster.children(), psutil.Process(redis_pid(data_dir))]
    for process in victims:
        # A backend may already be on its way out once the postmaster is killed.
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    deadline = time.monotonic() + 5
    while not all(is_gone(process.pid) for process in victims):
        assert time.monotonic() < deadline, "killed servers did not die"
        await asyncio.sleep(0.01)

    again = start(data_dir)
    connection = await asyncpg.connect(again.database_url)
    try:
        assert await connection.fetchval("SELECT value FROM kept") == "hello"
    finally:
        await connection.close()
    with redis_client(again) as client:
        assert client.ping()


async def test_long_data_dir_gets_short_socket_dirs(start: Start, tmp_path: Path) -> None:
    data_dir = tmp_path / ("d" * 80) / ("e" * 80)
    services = start(data_dir)

    socket_dir = Path(parse_qs(urlsplit(services.database_url).query)["host"][0])
    redis_socket = Path(urlsplit(services.redis_url).path)
    assert socket_dir.parent == redis_socket.parent.parent == Path("/tmp")
    assert socket_dir != redis_socket.parent
    connection = await asyncpg.connect(services.database_url)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()
    with redis_client(services) as client:
        assert client.ping()

    services.stop()
    # The socket dirs in /tmp are removed with the servers.
    assert not socket_dir.exists()  # noqa: ASYNC240 - one stat of a local dir
    assert not redis_socket.parent.exists()
