"""Failed-authentication limits per client, counted in Redis and shared by every web process.

A client may fail authentication ``MAX_FAILURES`` times within any
``WINDOW_SECONDS``; past that, further failures are answered ``429
rate_limited`` with ``Retry-After`` until the oldest counted failure leaves the
window. Successes are never counted and never refused here. The counting is
the ``limits`` package's moving window, in Redis under the deployment's key
prefix (``<prefix>:ratelimit:...``), so N web processes allow the limit once,
not N times; without ``REDIS_URL`` (one process) it is kept in memory.

Usage, for any credential check (API bearer tokens, the dashboard's login)::

    limiter = failure_limiter(connection)      # the app's one limiter
    client = client_address(connection)
    ...check the credential...
    if not ok:
        if (wait := await limiter.record_failure(client)) is not None:
            raise rate_limited(wait)            # 429, with Retry-After
        raise SecretStoreError("unauthorized", ...)

Caveats:

- A client is its IPv4 address, or its IPv6 /64 (one host usually holds a
  whole /64, so counting per /128 would let it pick a fresh address for every
  guess). The address is the one the ASGI server reports: behind a reverse
  proxy run uvicorn with ``--proxy-headers`` and ``--forwarded-allow-ips``, or
  every client shares the proxy's budget.
- A failure over the limit is refused but not counted, so a client that keeps
  guessing gets at most ``MAX_FAILURES`` guesses per window.
- While Redis cannot be reached the limiter fails open: failures are answered
  401 without being counted, and one warning is logged per outage. The client
  gives up within :data:`SOCKET_TIMEOUT_S`, and after a failure Redis is not
  asked again for :data:`OUTAGE_PAUSE_S`, so an outage never makes requests slow.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from litestar.connection import ASGIConnection
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from core.errors import SecretStoreError

MAX_FAILURES = 10
WINDOW_SECONDS = 60
STATE_KEY = "auth_failure_limiter"
# A Redis round trip takes well under a millisecond; one that takes longer than
# this means Redis is gone or overloaded, and the request should not wait for it.
SOCKET_TIMEOUT_S = 0.25
OUTAGE_PAUSE_S = 5.0
IPV6_PREFIX = 64

log = logging.getLogger("secretstore.ratelimit")

T = TypeVar("T")


class FailureLimiter:
    """A moving-window count of recent failures per client, in a ``limits`` storage."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: int = WINDOW_SECONDS,
        *,
        storage: Storage | None = None,
        redis: AsyncRedis[bytes] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Counts in ``storage`` (in memory by default); ``redis``, if given, is closed by
        :meth:`close`."""
        if max_failures < 1 or window_seconds < 1:
            raise ValueError("limits must be positive")
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._limit = RateLimitItemPerSecond(max_failures, window_seconds, namespace="auth")
        self._storage = storage if storage is not None else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._redis = redis
        self._clock = clock
        # While Redis is out: when to try it again (clock time), and whether the
        # outage has been logged.
        self._paused_until = 0.0
        self._in_outage = False

    async def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may fail again, or ``None`` when it is under the limit."""
        return await self._guarded(self._wait(client))

    async def record_failure(self, client: str) -> float | None:
        """Count a failure; returns the wait in seconds when this one is over the limit."""
        return await self._guarded(self._hit(client))

    async def reset(self, client: str) -> None:
        """Forget ``client``'s failures (for example after a successful login)."""
        await self._guarded(self._limiter.clear(self._limit, client))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.connection_pool.disconnect()

    async def _hit(self, client: str) -> float | None:
        if await self._limiter.hit(self._limit, client):
            return None
        return await self._wait(client)

    async def _wait(self, client: str) -> float | None:
        stats = await self._limiter.get_window_stats(self._limit, client)
        if stats.remaining > 0:
            return None
        wait = stats.reset_time - time.time()
        return wait if wait > 0 else None

    async def _guarded(self, operation: Coroutine[Any, Any, T]) -> T | None:
        """Run ``operation`` unless the storage is out; ``None`` when it is."""
        if self._in_outage and self._clock() < self._paused_until:
            operation.close()
            return None
        try:
            result = await operation
        except StorageError as error:
            self._paused_until = self._clock() + OUTAGE_PAUSE_S
            if not self._in_outage:
                self._in_outage = True
                log.warning(
                    "failed authentications are not limited: Redis unreachable",
                    extra={"error": type(error.storage_error).__name__},
                )
            return None
        if self._in_outage:
            self._in_outage = False
            log.info("failed authentications are limited again: Redis reachable")
        return result


def redis_failure_limiter(redis_url: str, key_prefix: str) -> FailureLimiter:
    """The limiter shared through the Redis at ``redis_url``, its keys under ``key_prefix``.

    Nothing connects here: the first failed authentication does.
    """
    # The client is built here rather than by ``limits`` from a URL: the
    # deployment's URL may name a unix socket, and the timeouts and the lack of
    # retries are what keeps an outage from slowing requests down.
    client = AsyncRedis.from_url(
        redis_url,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )
    storage = RedisStorage(
        "async+redis://",
        implementation="redispy",
        key_prefix=key_prefix,
        wrap_exceptions=True,
        connection_pool=client.connection_pool,
    )
    return FailureLimiter(storage=storage, redis=client)


def client_key(host: str) -> str:
    """What a client is counted by: its IPv4 address, or the /64 of its IPv6 address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The key a client is limited by (:func:`client_key` of the address the server reports)."""
    client = connection.client
    return client_key(client.host) if client is not None and client.host else "unknown"


def failure_limiter(connection: ASGIConnection[Any, Any, Any, Any]) -> FailureLimiter:
    """The application's limiter (created by ``web.app.create_app``)."""
    limiter: FailureLimiter = connection.app.state[STATE_KEY]
    return limiter


class RateLimited(SecretStoreError):
    """``rate_limited`` with the number of seconds to send as ``Retry-After``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("rate_limited", "too many failed authentication attempts; retry later")
        self.retry_after = max(1, math.ceil(retry_after))


def rate_limited(retry_after: float) -> RateLimited:
    return RateLimited(retry_after)
