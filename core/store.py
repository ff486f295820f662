"""The secret store: the domain's one service.

Default path: ``put`` seals a value under a fresh DEK wrapped by the active
KEK; ``get`` opens it; ``list`` pages metadata (never values); every change
appends an audit event in the same transaction (a put and an update are one
statement each). Rotation and cleanup run one batch per call
(``rotate_batch``, ``cleanup_secrets_batch``, ``cleanup_events_batch``, in
:mod:`core.maintenance`); the worker chains them. The statements themselves
are in :mod:`core.queries.secret_rows`; this module validates, seals, opens
and turns rows into :mod:`core.models` records.

Caveats: arguments are validated before anything is looked up, so a bad
request never tells whether a secret exists; a read of a row whose KEK version
was retired answers ``key_unavailable``; a row whose ciphertext fails to
authenticate raises ``decryption_failed`` and is logged without its content.
"""

from __future__ import annotations

import builtins
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, cast

import asyncpg

from core import audit, maintenance
from core.access import EVERYTHING, NamespaceScope
from core.coalesce import Coalescer
from core.crypto import InvalidCiphertext, SealedSecret, open_sealed, seal
from core.cursor import Position
from core.db import in_transaction, transaction
from core.errors import SecretStoreError
from core.keys import KeyRing
from core.models import (
    UNSET,
    AuditEvent,
    CleanupBatch,
    EventType,
    Found,
    GetResult,
    ListedSecret,
    MetadataT,
    Missing,
    NamespaceCount,
    NamespaceT,
    Page,
    PutResult,
    RotationBatch,
    RotationStatus,
    SecretInfo,
    SecretValue,
    Unset,
)
from core.queries import secret_rows
from core.timeutil import Clock, after_ms, is_expired, utc_now
from core.validation import (
    DEFAULT_PAGE_LIMIT,
    Order,
    check_duration_ms,
    check_limit,
    check_metadata,
    check_name,
    check_namespace,
    check_order,
    check_value,
    invalid,
)

log = logging.getLogger("secretstore.store")


def expiry_for_put(
    now: datetime, ttl_ms: int | Unset | None, default_ttl_ms: int | None
) -> datetime | None:
    """Expiry is recomputed on every put: absent = default TTL, ``None`` = never."""
    if ttl_ms is UNSET:
        return after_ms(now, default_ttl_ms) if default_ttl_ms is not None else None
    if ttl_ms is None:
        return None
    return after_ms(now, ttl_ms)


class SecretStore(Generic[NamespaceT, MetadataT]):
    """Envelope-encrypted secrets in PostgreSQL.

    ``keys`` returns the current :class:`KeyRing` (it raises ``invalid_keys``
    while the configuration is malformed); ``clock`` gives the time, so tests
    can move it.
    """

    def __init__(
        self,
        keys: Callable[[], KeyRing],
        *,
        default_ttl_ms: int | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if default_ttl_ms is not None:
            check_duration_ms("default TTL", default_ttl_ms)
        self._keys = keys
        self._default_ttl_ms = default_ttl_ms
        self._clock = clock
        # Reads outside a transaction share round trips (core.coalesce).
        self._reads: Coalescer[tuple[str, str], asyncpg.Record] = Coalescer(secret_rows.read_many)

    @property
    def clock(self) -> Clock:
        return self._clock

    def keyring(self) -> KeyRing:
        return self._keys()

    # -- writes ------------------------------------------------------------------

    async def put(
        self,
        namespace: NamespaceT,
        name: str,
        value: str,
        *,
        metadata: MetadataT | Unset | None = UNSET,
        ttl_ms: int | Unset | None = UNSET,
        actor: str | None = None,
    ) -> PutResult[NamespaceT, MetadataT]:
        """Create or replace a secret. ``metadata`` absent keeps it, ``None`` clears it."""
        check_namespace(namespace)
        check_name(name)
        check_value(value)
        new_metadata = UNSET if metadata is UNSET else check_metadata(metadata)
        if not isinstance(ttl_ms, Unset) and ttl_ms is not None:
            check_duration_ms("ttl_ms", ttl_ms)
        keyring = self._keys()
        now = self._clock()
        expires_at = expiry_for_put(now, ttl_ms, self._default_ttl_ms)
        sealed = seal(
            value,
            namespace=namespace,
            name=name,
            kek=keyring.kek_material(keyring.active_version),
            key_version=keyring.active_version,
        )
        args = (
            uuid.uuid4(),
            namespace,
            name,
            _sealed_args(sealed),
            _json_or_none(None if isinstance(new_metadata, Unset) else new_metadata),
            isinstance(new_metadata, Unset),
            now,
            expires_at,
            actor,
        )
        row = await secret_rows.put(*args)
        if row is None:
            # A concurrent put created the row after this one looked for it and
            # has committed: this one replaces it.
            row = await secret_rows.put(*args)
            if row is None:
                raise SecretStoreError("conflict", "the secret changed during the write")
        return PutResult(self._info(row), is_new=row["is_new"])

    async def update(
        self,
        namespace: NamespaceT,
        name: str,
        *,
        metadata: MetadataT | Unset | None = UNSET,
        ttl_ms: int | Unset | None = UNSET,
        actor: str | None = None,
    ) -> SecretInfo[NamespaceT, MetadataT]:
        """Change metadata and/or expiry without re-encrypting the value.

        Here ``ttl_ms`` ignores the default TTL: ``None`` clears the expiry.
        """
        check_namespace(namespace)
        check_name(name)
        if metadata is UNSET and ttl_ms is UNSET:
            raise invalid("give at least one of metadata and ttl_ms")
        new_metadata = UNSET if metadata is UNSET else check_metadata(metadata)
        if not isinstance(ttl_ms, Unset) and ttl_ms is not None:
            check_duration_ms("ttl_ms", ttl_ms)
        now = self._clock()
        row = await secret_rows.update(
            namespace,
            name,
            _json_or_none(None if isinstance(new_metadata, Unset) else new_metadata),
            isinstance(new_metadata, Unset),
            None if isinstance(ttl_ms, Unset) or ttl_ms is None else after_ms(now, ttl_ms),
            isinstance(ttl_ms, Unset),
            now,
            actor,
        )
        if row is None:
            raise SecretStoreError("not_found", "no such secret")
        return self._info(row)

    async def remove(self, namespace: NamespaceT, name: str, *, actor: str | None = None) -> bool:
        """Delete a secret; ``False`` when there was nothing to delete."""
        check_namespace(namespace)
        check_name(name)
        now = self._clock()
        async with transaction():
            secret_id = await secret_rows.delete(namespace, name)
            if secret_id is None:
                return False
            await audit.record(
                str(secret_id), namespace, name, "deleted", actor, {"reason": "removed"}, now
            )
            return True

    # -- reads -------------------------------------------------------------------

    async def get(self, namespace: NamespaceT, name: str) -> GetResult[NamespaceT, MetadataT]:
        check_namespace(namespace)
        check_name(name)
        keyring = self._keys()
        if in_transaction():
            row = await secret_rows.read_one(namespace, name)
        else:
            row = await self._reads.load((namespace, name))
        if row is None:
            return Missing("not_found")
        info = self._info(row)
        if is_expired(info.expires_at, self._clock()):
            return Missing("expired")
        if info.key_version not in keyring:
            return Missing("key_unavailable")
        sealed = SealedSecret(
            ciphertext=row["ciphertext"],
            value_nonce=row["value_nonce"],
            wrapped_dek=row["wrapped_dek"],
            dek_nonce=row["dek_nonce"],
            key_version=info.key_version,
        )
        try:
            value = open_sealed(
                sealed,
                namespace=namespace,
                name=name,
                kek=keyring.kek_material(info.key_version),
            )
        except InvalidCiphertext:
            log.error(
                "secret failed authentication",
                extra={"secret_id": info.secret_id, "key_version": info.key_version},
            )
            raise SecretStoreError(
                "decryption_failed", "the stored secret did not authenticate"
            ) from None
        return Found(SecretValue(info, value))

    async def get_or_raise(
        self, namespace: NamespaceT, name: str
    ) -> SecretValue[NamespaceT, MetadataT]:
        result = await self.get(namespace, name)
        if isinstance(result, Found):
            return result.secret
        raise SecretStoreError(result.reason, _MISSING_MESSAGES[result.reason])

    async def list(
        self,
        namespace: NamespaceT,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        cursor: str | None = None,
        order: Order = "desc",
        name_prefix: str | None = None,
    ) -> Page[ListedSecret[NamespaceT, MetadataT]]:
        """One page of a namespace, most recently updated first (``desc``) or last."""
        check_namespace(namespace)
        check_limit(limit)
        check_order(order)
        rows = await secret_rows.page(namespace, name_prefix, order, cursor, limit)
        now = self._clock()
        infos = [self._info(row) for row in rows[:limit]]
        last = Position(infos[-1].updated_at, infos[-1].secret_id) if infos else None
        next_cursor = secret_rows.SECRETS_KEYSET.next_cursor(order, len(rows), limit, last)
        return Page([ListedSecret(info, info.state(now)) for info in infos], next_cursor)

    async def list_namespaces(
        self, scope: NamespaceScope = EVERYTHING
    ) -> builtins.list[NamespaceCount]:
        rows = await secret_rows.namespace_counts(scope, self._clock())
        return [NamespaceCount(r["namespace"], r["secrets"], r["expired"]) for r in rows]

    async def list_events(
        self,
        *,
        scope: NamespaceScope = EVERYTHING,
        namespace: str | None = None,
        name: str | None = None,
        type: EventType | str | None = None,
        secret_id: str | None = None,
        limit: int = DEFAULT_PAGE_LIMIT,
        cursor: str | None = None,
        order: Order = "desc",
    ) -> Page[AuditEvent]:
        return await audit.list_events(
            scope=scope,
            namespace=namespace,
            name=name,
            type=type,
            secret_id=secret_id,
            limit=limit,
            cursor=cursor,
            order=order,
        )

    # -- rotation and cleanup ----------------------------------------------------

    async def rotation_status(self) -> RotationStatus:
        return await maintenance.rotation_status(self._keys())

    async def rotate_batch(self, limit: int = 100, *, actor: str | None = None) -> RotationBatch:
        return await maintenance.rotate_batch(self._keys(), self._clock(), limit, actor)

    async def cleanup_secrets_batch(
        self, retention_ms: int | None = None, limit: int = 500, *, actor: str | None = None
    ) -> CleanupBatch:
        return await maintenance.cleanup_secrets_batch(self._clock(), retention_ms, limit, actor)

    async def cleanup_events_batch(
        self, retention_ms: int | None = None, limit: int = 1000
    ) -> CleanupBatch:
        return await maintenance.cleanup_events_batch(
            self._keys(), self._clock(), retention_ms, limit
        )

    # -- helpers -----------------------------------------------------------------

    def _info(self, row: asyncpg.Record) -> SecretInfo[NamespaceT, MetadataT]:
        return SecretInfo(
            secret_id=str(row["id"]),
            namespace=cast(NamespaceT, row["namespace"]),
            name=row["name"],
            metadata=cast("MetadataT | None", _json_load(row["metadata"])),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            expires_at=row["expires_at"],
            key_version=row["key_version"],
        )


_MISSING_MESSAGES = {
    "not_found": "no such secret",
    "expired": "the secret has expired",
    "key_unavailable": "the secret's key version is no longer configured",
}


def _sealed_args(sealed: SealedSecret) -> tuple[bytes, bytes, bytes, bytes, int]:
    return (
        sealed.ciphertext,
        sealed.value_nonce,
        sealed.wrapped_dek,
        sealed.dek_nonce,
        sealed.key_version,
    )


def _json_or_none(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _json_load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else cast(dict[str, Any], json.loads(text))
