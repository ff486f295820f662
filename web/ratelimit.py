"""Failed-authentication limits per client, in process.

A client (by default its IP address) may fail authentication ``max_failures``
times within any ``window_seconds``; past that, further failures are answered
``429 rate_limited`` until the oldest failure leaves the window. Successes are
never counted and never refused here.

Usage, for any credential check (API bearer tokens, the dashboard's login)::

    limiter = failure_limiter(connection)      # the app's one shared instance
    client = client_address(connection)
    ...check the credential...
    if not ok:
        if (wait := limiter.record_failure(client)) is not None:
            raise rate_limited(wait)            # 429, with Retry-After
        raise SecretStoreError("unauthorized", ...)

Caveats: the counts live in one process, so N web processes allow N times the
limit; the client address is the one the ASGI server reports, so behind a
reverse proxy run uvicorn with ``--proxy-headers`` and ``--forwarded-allow-ips``
or every client shares the proxy's budget. The number of clients tracked is
bounded, so a flood of addresses costs memory up to that bound and then evicts
the least recently seen clients.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection

from core.errors import SecretStoreError

MAX_FAILURES = 10
WINDOW_SECONDS = 60.0
MAX_CLIENTS = 10_000
STATE_KEY = "auth_failure_limiter"


class FailureLimiter:
    """A sliding-window count of recent failures per client key."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or window_seconds <= 0 or max_clients < 1:
            raise ValueError("limits must be positive")
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._max_clients = max_clients
        self._clock = clock
        # Only the newest max_failures moments matter: the client is over the
        # limit exactly when the oldest of them is still inside the window.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        # The dashboard may call from a worker thread while the API runs on the loop.
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may fail again, or ``None`` when it is under the limit."""
        with self._lock:
            return self._wait(client, self._clock())

    def record_failure(self, client: str) -> float | None:
        """Count a failure; returns the wait in seconds when this one is over the limit.

        A failure over the limit is counted too, so a client that keeps failing
        stays refused for as long as it keeps trying.
        """
        with self._lock:
            now = self._clock()
            over_limit = self._wait(client, now) is not None
            moments = self._failures.get(client)
            if moments is None:
                moments = self._failures[client] = deque(maxlen=self.max_failures)
                while len(self._failures) > self._max_clients:
                    self._failures.popitem(last=False)
            else:
                self._failures.move_to_end(client)
            moments.append(now)
            return self._wait(client, now) if over_limit else None

    def reset(self, client: str) -> None:
        """Forget ``client``'s failures (for example after a successful login)."""
        with self._lock:
            self._failures.pop(client, None)

    def _wait(self, client: str, now: float) -> float | None:
        moments = self._failures.get(client)
        if moments is None:
            return None
        if len(moments) < self.max_failures:
            if moments and now - moments[-1] >= self.window_seconds:
                del self._failures[client]
            return None
        wait = moments[0] + self.window_seconds - now
        return wait if wait > 0 else None


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The key a client is limited by: its address as the ASGI server reports it."""
    client = connection.client
    return client.host if client is not None and client.host else "unknown"


def failure_limiter(connection: ASGIConnection[Any, Any, Any, Any]) -> FailureLimiter:
    """The application's shared limiter (created by ``web.app.create_app``)."""
    limiter: FailureLimiter = connection.app.state[STATE_KEY]
    return limiter


class RateLimited(SecretStoreError):
    """``rate_limited`` with the number of seconds to send as ``Retry-After``."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("rate_limited", "too many failed authentication attempts; retry later")
        self.retry_after = max(1, math.ceil(retry_after))


def rate_limited(retry_after: float) -> RateLimited:
    return RateLimited(retry_after)
