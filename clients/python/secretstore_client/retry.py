"""When a failed call is tried again, and after how long.

Only what cannot happen twice is retried: a request the service never got
(the connection was refused), and idempotent requests (GET, DELETE, a PUT
with ``if_version``/``if_absent``) after a connection error, a ``503
unavailable`` or a ``429``. A plain PUT, a PATCH or a POST that may have
reached the service is never sent again: the caller decides.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from secretstore_client.errors import RateLimited, SecretStoreError, Unavailable

# Failures before the request left this process: safe to send again whatever it is.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``retries`` more tries, waiting ``backoff``, twice that, ... up to ``max_backoff``.

    Each wait is jittered (between half and all of it) so that many clients
    that failed together do not come back together. A ``Retry-After`` longer
    than the wait is honoured, unless it is over ``max_retry_after``: then the
    error is raised at once rather than blocking the caller that long.
    ``RetryPolicy(retries=0)`` turns retries off.
    """

    retries: int = 3
    backoff: float = 0.2
    max_backoff: float = 5.0
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("retries and waits cannot be negative")

    def delay(
        self, attempt: int, error: SecretStoreError | httpx.TransportError, *, idempotent: bool
    ) -> float | None:
        """Seconds to wait before try ``attempt + 1`` (0-based), or ``None`` to give up."""
        if attempt >= self.retries or not _retryable(error, idempotent=idempotent):
            return None
        wait = min(self.max_backoff, self.backoff * 2.0**attempt) * random.uniform(0.5, 1.0)
        hint: float | None = error.retry_after if isinstance(error, RateLimited) else None
        if hint is not None:
            if hint > self.max_retry_after:
                return None
            wait = max(wait, hint)
        return wait


def _retryable(error: SecretStoreError | httpx.TransportError, *, idempotent: bool) -> bool:
    if isinstance(error, _NOT_SENT):
        return True
    if not idempotent:
        return False
    return isinstance(error, httpx.TransportError | Unavailable | RateLimited)
