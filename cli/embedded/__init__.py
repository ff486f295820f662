"""Private PostgreSQL and Redis servers for the embedded default (DESIGN.md).

Both servers live under one data directory and listen on unix sockets only:

    data_dir/postgres/   the PostgreSQL cluster (initdb'd on first use, kept across runs)
    data_dir/redis/      redis.conf, redis.log, redis.pid (no persistence)

``postgres`` and ``redis`` run one server each; ``processes`` holds what both
need (the data directory and its lock, socket paths, stopping child processes).
The caller owns the servers and stops them with ``stop()``; a server left
running by a crashed process is found and reused by the next start on the same
directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cli.embedded.postgres import POSTGRES_ACCOUNT, start_embedded_postgres
from cli.embedded.processes import EmbeddedServiceError, prepare_data_dir
from cli.embedded.redis import start_embedded_redis, wait_for_redis

__all__ = [
    "POSTGRES_ACCOUNT",
    "EmbeddedServiceError",
    "EmbeddedServices",
    "prepare_data_dir",
    "start_embedded",
    "start_embedded_postgres",
    "start_embedded_redis",
    "wait_for_redis",
]


@dataclass(frozen=True)
class EmbeddedServices:
    """The URLs of the running embedded servers, and how to stop them."""

    database_url: str
    redis_url: str
    _stop_postgres: Callable[[], None] = field(repr=False, compare=False)
    _stop_redis: Callable[[], None] = field(repr=False, compare=False)

    def stop(self) -> None:
        """Stop Redis, then PostgreSQL. Calling it again does nothing."""
        try:
            self._stop_redis()
        finally:
            self._stop_postgres()


def start_embedded(data_dir: Path, *, database: str = "secretstore") -> EmbeddedServices:
    """Start (or reuse) PostgreSQL and Redis under ``data_dir``; the caller must ``stop()``."""
    database_url, stop_postgres = start_embedded_postgres(data_dir, database)
    try:
        redis_url, stop_redis = start_embedded_redis(data_dir)
    except BaseException:
        stop_postgres()
        raise
    return EmbeddedServices(database_url, redis_url, stop_postgres, stop_redis)
