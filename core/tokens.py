"""API tokens: created by an admin, shown once, stored as a hash, checked on every request.

A token's text is 32 random bytes, so a single SHA-256 is enough to store it
safely (there is nothing to brute-force, unlike a password), and the lookup is
one indexed query by hash. The bootstrap admin token comes from the
environment and is never stored; it is compared in constant time.

A web process starts its :class:`core.tokencache.TokenCache`, so a live token
is looked up once and then answered from memory; revocation reaches every
process's cache through the ``NOTIFY`` that :meth:`TokenService.revoke` sends
with its ``UPDATE``, and a cache that is not listening is never consulted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets as random_source
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from core.access import (
    CAPABILITIES,
    Capability,
    Principal,
    check_capability,
    check_grantable,
    check_lifetime,
    check_pattern,
    covers,
)
from core.errors import SecretStoreError
from core.queries import api_tokens
from core.timeutil import Clock, after_ms, is_expired, utc_now
from core.tokencache import CHANNEL, CachedToken, TokenCache
from core.validation import check_duration_ms, has_control_character, invalid

TOKEN_PREFIX = "sst_"  # noqa: S105 (a marker, not a credential)
BOOTSTRAP_ACTOR = "bootstrap-admin"
MAX_TOKEN_NAME = 128
# How long revoke waits for its own process's listener to see the notice.
REVOKE_NOTICE_WAIT_S = 1.0
log = logging.getLogger("secretstore.tokens")
TokenState = Literal["active", "expired", "revoked"]


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    name: str
    namespaces: tuple[str, ...]
    capabilities: tuple[Capability, ...]
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> TokenState:
        """``revoked`` wins over ``expired``; a token is expired once ``now >= expires_at``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if is_expired(self.expires_at, now) else "active"


@dataclass(frozen=True)
class CreatedToken:
    info: TokenInfo
    # the token text, shown to its creator once and never again
    token: str

    def __repr__(self) -> str:
        return f"CreatedToken(info={self.info!r}, token=<hidden>)"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bootstrap_principal() -> Principal:
    return Principal(
        token_id=BOOTSTRAP_ACTOR,
        name="bootstrap admin",
        patterns=("*",),
        capabilities=frozenset(CAPABILITIES),
    )


class TokenService:
    def __init__(
        self,
        *,
        admin_token: str | None = None,
        clock: Clock = utc_now,
        cache: TokenCache | None = None,
    ) -> None:
        self._admin_hash = hash_token(admin_token) if admin_token else None
        self._admin = bootstrap_principal()
        self._clock = clock
        # Answers only once started (core.tokencache); until then every check reads the table.
        self.cache = cache or TokenCache()

    async def create(
        self,
        name: str,
        namespaces: list[str],
        capabilities: list[str],
        *,
        ttl_ms: int | None = None,
        created_by: str | None = None,
        grantor: Principal | None = None,
    ) -> CreatedToken:
        """A new token. With a ``grantor``, it may hold only what the grantor holds, and
        expires no later than the grantor does."""
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_TOKEN_NAME:
            raise invalid(f"token name must be 1-{MAX_TOKEN_NAME} characters")
        if has_control_character(name):
            raise invalid("token name must not contain control characters")
        if not isinstance(namespaces, list) or not namespaces:
            raise invalid("namespaces must be a non-empty list of namespace patterns")
        if not isinstance(capabilities, list) or not capabilities:
            raise invalid("capabilities must be a non-empty list")
        patterns = sorted({check_pattern(p) for p in namespaces})
        caps = sorted({check_capability(c) for c in capabilities}, key=CAPABILITIES.index)
        if ttl_ms is not None:
            check_duration_ms("ttl_ms", ttl_ms)
        now = self._clock()
        expires_at = after_ms(now, ttl_ms) if ttl_ms is not None else None
        if grantor is not None:
            check_grantable(grantor, patterns, caps)
            check_lifetime(grantor, expires_at)
            created_by = created_by or grantor.token_id
        token = TOKEN_PREFIX + random_source.token_urlsafe(32)
        row = await api_tokens.insert(
            name=name,
            token_hash=hash_token(token),
            namespaces=patterns,
            capabilities=list(caps),
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
        return CreatedToken(_info(row), token)

    async def list(self, *, viewer: Principal | None = None) -> list[TokenInfo]:
        """Every token, or (with a ``viewer``) those whose patterns the viewer's cover."""
        tokens = [_info(row) for row in await api_tokens.all_by_creation()]
        if viewer is None:
            return tokens
        return [token for token in tokens if covers(viewer, token.namespaces)]

    async def revoke(self, token_id: str, *, revoker: Principal | None = None) -> TokenInfo:
        """Revoke a token in every process: refused by this one once this returns.

        With a ``revoker``, only a token whose patterns the revoker's cover
        (``forbidden`` otherwise): an admin of ``acme:*`` cannot cut off another
        tenant's tokens.

        The ``NOTIFY`` is part of the ``UPDATE``'s statement, so it is sent if
        and only if the revocation commits. When this process's cache is
        listening, the answer waits (at most a second) until its own listener
        has the notice: the other processes' listeners are told by the same
        commit.
        """
        try:
            key = uuid.UUID(token_id)
        except ValueError:
            raise SecretStoreError("not_found", "no such token") from None
        token_id = str(key)
        if revoker is not None:
            # Patterns never change after creation: checking before the UPDATE is safe.
            found = await api_tokens.by_id(key)
            if found is None:
                raise SecretStoreError("not_found", "no such token")
            if not covers(revoker, _info(found).namespaces):
                raise SecretStoreError(
                    "forbidden", "this token may not revoke a token outside its namespaces"
                )
        notice = self.cache.expect(token_id) if self.cache.listening else None
        try:
            row = await api_tokens.revoke(key, self._clock(), CHANNEL)
            if row is None:
                raise SecretStoreError("not_found", "no such token")
            self.cache.forget(token_id)
            if notice is not None:
                try:
                    await asyncio.wait_for(notice.wait(), REVOKE_NOTICE_WAIT_S)
                except TimeoutError:
                    log.warning("token revoked; its notice was not seen within the wait")
        finally:
            if notice is not None:
                self.cache.unexpect(token_id, notice)
        return _info(row)

    async def principal(self, token_id: str) -> Principal | None:
        """The principal of a live token by id (a dashboard session re-checks it per request)."""
        if token_id == BOOTSTRAP_ACTOR:
            return self._admin if self._admin_hash is not None else None
        try:
            key = uuid.UUID(token_id)
        except ValueError:
            return None
        row = await api_tokens.by_id(key)
        return None if row is None else self._live(_info(row))

    def _live(self, info: TokenInfo) -> Principal | None:
        if info.state(self._clock()) != "active":
            return None
        return Principal(
            token_id=info.token_id,
            name=info.name,
            patterns=info.namespaces,
            capabilities=frozenset(info.capabilities),
            expires_at=info.expires_at,
        )

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a live token, or ``None`` (unknown, revoked or expired)."""
        if not token or len(token) > 512:
            return None
        digest = hash_token(token)
        if self._admin_hash is not None and hmac.compare_digest(digest, self._admin_hash):
            return self._admin
        if not token.startswith(TOKEN_PREFIX):
            return None
        cached = self.cache.lookup(digest)
        if cached is not None:
            if is_expired(cached.expires_at, self._clock()):
                self.cache.forget(cached.principal.token_id)
                return None
            return cached.principal
        generation = self.cache.generation
        row = await api_tokens.by_hash(digest)
        # The index lookup finds the row by hash; the constant-time comparison
        # keeps the final check from depending on where two hashes differ.
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        info = _info(row)
        principal = self._live(info)
        if principal is not None:
            self.cache.remember(digest, CachedToken(principal, info.expires_at), generation)
        return principal


def _info(row: api_tokens.Row) -> TokenInfo:
    namespaces: list[str] = json.loads(row["namespaces"])
    capabilities: list[Any] = json.loads(row["capabilities"])
    return TokenInfo(
        token_id=str(row["id"]),
        name=row["name"],
        namespaces=tuple(namespaces),
        capabilities=tuple(check_capability(c) for c in capabilities),
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )
