"""The one place the broker is chosen: Dramatiq's RedisBroker on ``REDIS_URL``.

A process installs it once, before any link is sent or run: importing
``worker.actors`` does, and so does the first :func:`worker.chains.start_chain`
of a process that never imports the actors (web, CLI, scheduler). The same
Redis client serves the broker and the chain leases, with short socket
timeouts, so that with Redis down a trigger fails within about two seconds
instead of hanging the request that made it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.errors import SecretStoreError
from core.settings import ChainSettings, Settings
from worker.middleware import middleware_stack

# Long enough for a Redis under load, short enough that a request waiting on a
# trigger is not held for long when Redis is gone.
SOCKET_CONNECT_TIMEOUT_S = 1.0
SOCKET_TIMEOUT_S = 2.0


class ChainBroker(RedisBroker):
    """RedisBroker whose idle workers poll at most every ``poll_ms``.

    Dramatiq's Redis consumer backs off up to the worker timeout (a second by
    default) while its queue is empty, and each link of a chain is sent while
    the worker is busy with the one before it, so that backoff would be paid
    once per batch: up to a hundred seconds over a 10,000-row rotation.
    """

    def __init__(self, *, poll_ms: int, **options: object) -> None:
        super().__init__(**options)  # type: ignore[no-untyped-call]
        self.poll_ms = poll_ms

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> dramatiq.Consumer:
        return super().consume(queue_name, prefetch, min(timeout, self.poll_ms))


@dataclass(frozen=True)
class Installed:
    broker: ChainBroker
    client: redis.Redis[bytes]
    config: ChainSettings


_installed: Installed | None = None
_lock = threading.Lock()


def redis_client(url: str) -> redis.Redis[bytes]:
    """A client that gives up quickly: connection refused or a silent server both fail fast.

    A command is retried once, at once, and only after a connection error: that
    is a pooled connection a Redis restart closed, and a fresh one succeeds. A
    timeout is not retried, since it would only double the wait.
    """
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=SOCKET_CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    )


def setup_broker(redis_url: str | None = None) -> dramatiq.Broker:
    """Install the broker (once per process) and return it.

    Later calls return the same broker whatever their argument. Nothing
    connects here: a process whose Redis is down still starts, and only sending
    a link fails.
    """
    return installed(redis_url).broker


def installed(redis_url: str | None = None) -> Installed:
    """The broker, its Redis client and the configuration they were built from."""
    global _installed
    with _lock:
        if _installed is None:
            settings = Settings.from_env()
            url = redis_url or settings.redis_url
            if not url:
                raise SecretStoreError(
                    "unavailable", "REDIS_URL is not set: there is no broker for background jobs"
                )
            config = settings.chains
            client = redis_client(url)
            broker = ChainBroker(
                client=client,
                namespace=config.key("dramatiq"),
                heartbeat_timeout=config.heartbeat_timeout_ms,
                maintenance_chance=config.maintenance_chance,
                middleware=middleware_stack(time_limit_ms=config.link_time_limit_ms),
                poll_ms=config.poll_ms,
            )
            dramatiq.set_broker(broker)
            _installed = Installed(broker=broker, client=client, config=config)
        return _installed
