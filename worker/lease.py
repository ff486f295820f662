"""A lease in one Redis key: who holds it, for how long, changed only by compare-and-set.

It makes each kind of chain a singleton, and the scheduler a single leader. A
chain is a sequence of messages, so no lock held inside one function call can
guard it; instead the holder is a string that travels in the messages (see
:mod:`worker.chains` for what the chains put in it).

- :meth:`Lease.claim` takes the lease only if nobody holds it (``SET NX PX``):
  of any number of concurrent triggers exactly one wins.
- :meth:`Lease.hold` renews the lease for its holder; takes it when it lapsed
  (nobody holds it any more); and, when ``after`` is given, takes it over from
  a holder whose name starts with ``after`` (the link before, handing on).
  Anyone else holding it makes it fail.
- :meth:`Lease.release` deletes the lease, only if the caller still holds it.

Each is one Lua script, so a holder that lost the lease can neither extend nor
delete the lease of whoever holds it now.
"""

from __future__ import annotations

import redis

_HOLD = """
local held = redis.call("GET", KEYS[1])
local after = ARGV[3]
if not held or held == ARGV[1]
    or (after ~= "" and string.sub(held, 1, string.len(after)) == after) then
    redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
    return 1
end
return 0
"""

_RELEASE = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("DEL", KEYS[1])
end
return 0
"""


class Lease:
    """One lease. Redis errors propagate to the caller."""

    def __init__(self, client: redis.Redis[bytes], key: str, ttl_ms: int) -> None:
        self.key = key
        self.ttl_ms = ttl_ms
        self._client = client
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)

    def claim(self, holder: str) -> bool:
        """Take the lease if nobody holds it."""
        return bool(self._client.set(self.key, holder, nx=True, px=self.ttl_ms))

    def hold(self, holder: str, *, after: str | None = None) -> bool:
        """Renew, take a lapsed lease, or take over from a holder starting with ``after``."""
        return bool(self._hold(keys=[self.key], args=[holder, self.ttl_ms, after or ""]))

    def release(self, holder: str) -> bool:
        """Delete the lease if ``holder`` still holds it."""
        return bool(self._release(keys=[self.key], args=[holder]))

    def holder(self) -> str | None:
        held = self._client.get(self.key)
        return None if held is None else bytes(held).decode()

    def is_held(self) -> bool:
        return bool(self._client.exists(self.key))
