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

:class:`ChainLease` adds what a chain needs to be resumed: beside the lease, a
hash that names the chain owning the work (its token) and what it was started
with. The hash has no expiry: it outlives a dead worker's lease, and is deleted
only with the lease by the link that finishes the chain. A link may take a
lapsed lease only when its token is the one the hash names, so a link of a
chain that was superseded or finished never comes back to life.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

log = logging.getLogger("secretstore.worker")

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


_CHAIN_CLAIM = """
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
    redis.call("DEL", KEYS[2])
    redis.call("HSET", KEYS[2], unpack(ARGV, 3))
    return 1
end
return 0
"""

_CHAIN_ENTER = """
local held = redis.call("GET", KEYS[1])
local after = ARGV[3]
if held == ARGV[1]
    or (held and after ~= "" and string.sub(held, 1, string.len(after)) == after)
    or (not held and redis.call("HGET", KEYS[2], "token") == ARGV[4]) then
    redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
    return 1
end
return 0
"""

_RENEW = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
"""

_CHAIN_RELEASE = """
if redis.call("GET", KEYS[1]) == ARGV[1] then
    redis.call("DEL", KEYS[2])
    return redis.call("DEL", KEYS[1])
end
return 0
"""

_CHAIN_RESUME = """
if redis.call("EXISTS", KEYS[1]) == 0
    and redis.call("HGET", KEYS[2], "token") == ARGV[3] then
    redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
    redis.call("HSET", KEYS[2], "token", ARGV[4])
    return 1
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


class ChainLease(Lease):
    """A chain's lease and the hash naming the chain that owns its work (``<key>:work``)."""

    def __init__(self, client: redis.Redis[bytes], key: str, ttl_ms: int) -> None:
        super().__init__(client, key, ttl_ms)
        self.work_key = f"{key}:work"
        self._chain_claim = client.register_script(_CHAIN_CLAIM)
        self._chain_enter = client.register_script(_CHAIN_ENTER)
        self._renew = client.register_script(_RENEW)
        self._chain_release = client.register_script(_CHAIN_RELEASE)
        self._chain_resume = client.register_script(_CHAIN_RESUME)

    def claim_work(self, holder: str, work: dict[str, str]) -> bool:
        """Take the lease if nobody holds it, and record ``work`` (it names the chain's token)."""
        fields = [item for pair in work.items() for item in pair]
        return bool(
            self._chain_claim(keys=[self.key, self.work_key], args=[holder, self.ttl_ms, *fields])
        )

    def enter(self, holder: str, *, after: str | None, token: str) -> bool:
        """Renew; take over from a holder starting with ``after``; or take a lapsed lease
        when the work still belongs to the chain of ``token``."""
        return bool(
            self._chain_enter(
                keys=[self.key, self.work_key], args=[holder, self.ttl_ms, after or "", token]
            )
        )

    def renew(self, holder: str) -> bool:
        """Extend the lease only while ``holder`` still holds it; never take it back."""
        return bool(self._renew(keys=[self.key], args=[holder, self.ttl_ms]))

    def release(self, holder: str) -> bool:
        """End the chain: delete the lease and its work, only if ``holder`` still holds it."""
        return bool(self._chain_release(keys=[self.key, self.work_key], args=[holder]))

    def work(self) -> dict[str, str]:
        """The work of the chain that owns this kind, empty when there is none."""
        raw = self._client.hgetall(self.work_key)
        return {bytes(k).decode(): bytes(v).decode() for k, v in raw.items()}

    def resume(self, holder: str, *, token: str, new_token: str) -> bool:
        """Take a lapsed lease for a new chain that carries on the work of ``token``."""
        return bool(
            self._chain_resume(
                keys=[self.key, self.work_key], args=[holder, self.ttl_ms, token, new_token]
            )
        )


class Heartbeat:
    """Renews a lease for its holder from a thread of its own while a ``with`` block runs.

    The renewal is a compare-and-set (:meth:`ChainLease.renew`), so a holder
    whose lease lapsed and was taken never gets it back; :attr:`lost` is then
    set, and the work under it should stop. A Redis error is logged and the
    next beat tries again: the lease only lapses if Redis stays unreachable for
    most of its lifetime, and once renewals have failed for a whole lifetime
    :attr:`lost` is set too.
    """

    def __init__(self, lease: ChainLease, holder: str, every_ms: int) -> None:
        self._lease = lease
        self._holder = holder
        self._every_s = every_ms / 1000
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(self._every_s):
            try:
                if not self._lease.renew(self._holder):
                    self.lost.set()
                    return
                renewed = time.monotonic()
            except redis.RedisError as error:
                log.warning(
                    "lease renewal failed",
                    extra={"lease": self._lease.key, "error": type(error).__name__},
                )
                if time.monotonic() - renewed >= self._lease.ttl_ms / 1000:
                    # The lease may have lapsed and been taken: stop as if lost.
                    self.lost.set()
                    return
