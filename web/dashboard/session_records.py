"""Session records: what the dashboard keeps in Redis for a session, and how it is checked.

Layout of one session::

    key     <prefix>:dashboard:sessions:<hex SHA-256 of the session id>
    value   <hex HMAC-SHA256>.<JSON {"data", "created", "seen", "admin"}>

The session id (the cookie) is 32 random bytes and never stored: someone who
can read Redis sees only its hash, which signs no one in. The MAC is keyed by
a key derived from ``SECRET_STORE_SESSION_SECRET`` and covers the record's
key as well as its JSON, so someone who can write to Redis can neither make a
record nor move a real one under a key whose id they chose.

Time: ``created`` is the sign-in, and a record older than the lifetime is
refused however busy the session is; ``seen`` is the last request, and a
record idle longer than the idle limit is refused (Redis expires it too).
``admin`` binds a session of the bootstrap admin to a fingerprint of
``SECRET_STORE_ADMIN_TOKEN``, so that changing the token ends those sessions.
Sessions of API tokens are not bound to it: revoking or expiring their own
token already ends them (the dashboard re-checks the token on every request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis as AsyncRedis

from core.tokens import BOOTSTRAP_ACTOR

_CONTEXT = b"secretstore/dashboard-session/v1"


class SessionRecords(Protocol):
    async def read(self, key: str) -> bytes | None: ...

    async def write(self, key: str, record: bytes, ttl_ms: int, *, existing: bool) -> bool:
        """Store ``record``; with ``existing``, only over a record still there (else False)."""
        ...

    async def remove(self, key: str) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class SessionSeal:
    """Turns session data into an authenticated record under a hashed key, and back."""

    mac_key: bytes = field(repr=False)
    # HMAC of the bootstrap admin token; None when no such token is configured.
    admin_fingerprint: str | None = field(repr=False)
    idle_seconds: int
    lifetime_seconds: int
    clock: Callable[[], float] = time.time

    @classmethod
    def of(
        cls, secret: str, admin_token: str | None, *, idle_seconds: int, lifetime_seconds: int
    ) -> SessionSeal:
        mac_key = hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()
        fingerprint = None
        if admin_token:
            fingerprint = hmac.new(
                mac_key, b"bootstrap-admin\0" + admin_token.encode(), hashlib.sha256
            ).hexdigest()
        return cls(mac_key, fingerprint, idle_seconds, lifetime_seconds)

    @staticmethod
    def key(session_id: str) -> str:
        # The id is 32 random bytes: a plain hash leaves nothing to guess.
        return hashlib.sha256(session_id.encode()).hexdigest()

    def seal(self, key: str, data: dict[str, Any], created: float) -> bytes:
        bound = self.admin_fingerprint if data.get("token_id") == BOOTSTRAP_ACTOR else None
        payload = json.dumps(
            {"data": data, "created": created, "seen": self.clock(), "admin": bound},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        return self._mac(key, payload).encode() + b"." + payload

    def open(self, key: str, record: bytes) -> tuple[dict[str, Any], float] | None:
        """The data and sign-in time of a genuine, live record; ``None`` for anything else."""
        mac, _, payload = record.partition(b".")
        if not hmac.compare_digest(mac, self._mac(key, payload).encode()):
            return None
        fields = json.loads(payload)
        data, created, seen = fields["data"], float(fields["created"]), float(fields["seen"])
        now = self.clock()
        if now - created >= self.lifetime_seconds or now - seen >= self.idle_seconds:
            return None
        if data.get("token_id") == BOOTSTRAP_ACTOR and (
            self.admin_fingerprint is None or fields["admin"] != self.admin_fingerprint
        ):
            return None
        return data, created

    def ttl_ms(self, created: float) -> int:
        """How long Redis keeps a record written now: the idle limit, or less near the lifetime."""
        left = min(self.idle_seconds, created + self.lifetime_seconds - self.clock())
        return max(1, int(left * 1000))

    def _mac(self, key: str, payload: bytes) -> str:
        return hmac.new(self.mac_key, key.encode() + b"\0" + payload, hashlib.sha256).hexdigest()


class _Shared:
    """Litestar deep-copies a router when it registers it, middleware included:
    the records (a connection pool, or the memory of this process) are shared."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Shared:
        return self


class RedisSessionRecords(_Shared):
    """Records in Redis, so every web process sees every session."""

    def __init__(self, client: AsyncRedis[bytes], namespace: str) -> None:
        self._client = client
        self._namespace = namespace

    @classmethod
    def from_url(cls, url: str, namespace: str) -> RedisSessionRecords:
        return cls(AsyncRedis.from_url(url), namespace)

    def _name(self, key: str) -> str:
        return f"{self._namespace}:{key}"

    async def read(self, key: str) -> bytes | None:
        value: bytes | None = await self._client.get(self._name(key))
        return value

    async def write(self, key: str, record: bytes, ttl_ms: int, *, existing: bool) -> bool:
        # SET XX: a request still in flight when its session is signed out
        # finds the record gone and cannot write it back.
        done = await self._client.set(self._name(key), record, px=ttl_ms, xx=existing)
        return bool(done)

    async def remove(self, key: str) -> None:
        await self._client.delete(self._name(key))

    async def close(self) -> None:
        await self._client.connection_pool.disconnect()


class MemorySessionRecords(_Shared):
    """Records of a single process without Redis; they end with it."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[bytes, float]] = {}

    async def read(self, key: str) -> bytes | None:
        found = self._records.get(key)
        if found is None or found[1] <= time.monotonic():
            return None
        return found[0]

    async def write(self, key: str, record: bytes, ttl_ms: int, *, existing: bool) -> bool:
        # No await between the check and the write: atomic on the event loop.
        if existing and await self.read(key) is None:
            return False
        self._records[key] = (record, time.monotonic() + ttl_ms / 1000)
        return True

    async def remove(self, key: str) -> None:
        self._records.pop(key, None)

    async def close(self) -> None:
        self._records.clear()


def session_records(redis_url: str | None, namespace: str) -> SessionRecords:
    """Records in Redis under ``namespace``, or in memory without Redis."""
    if redis_url:
        return RedisSessionRecords.from_url(redis_url, namespace)
    return MemorySessionRecords()
