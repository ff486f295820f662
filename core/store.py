"""The secret store: the domain's one service.

Default path: ``put`` seals a value under a fresh DEK wrapped by the active
KEK, as the secret's next version (:mod:`core.valuewrite`); ``get`` opens the
current version, or an earlier one; ``list`` pages metadata (never values);
``remove`` deletes softly (``restore`` undoes it until the recovery window
passes) or purges; every change appends an audit event in the same
transaction (a put and an update are one statement each). Rotation and
cleanup run one batch per call
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
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, cast

import asyncpg

from core import audit, lifecycle, maintenance
from core.access import EVERYTHING, NamespaceScope
from core.coalesce import Coalescer
from core.cursor import Position
from core.db import in_transaction
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
    Removal,
    RotationBatch,
    RotationStatus,
    SecretInfo,
    SecretValue,
    Unset,
    VersionInfo,
)
from core.opening import open_row, secret_info
from core.queries import secret_rows
from core.timeutil import Clock, after_ms, utc_now
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
    check_version,
    invalid,
)
from core.valuewrite import NO_PRECONDITION, Places, Precondition, value_write, write_value

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
        max_versions: int = 10,
        recovery_window_ms: int = lifecycle.RECOVERY_WINDOW_MS,
        clock: Clock = utc_now,
    ) -> None:
        if default_ttl_ms is not None:
            check_duration_ms("default TTL", default_ttl_ms)
        if isinstance(max_versions, bool) or not isinstance(max_versions, int) or max_versions < 1:
            raise invalid("max_versions must be an integer of at least 1")
        if recovery_window_ms != 0:
            check_duration_ms("recovery window", recovery_window_ms)
        self._keys = keys
        self._default_ttl_ms = default_ttl_ms
        self._max_versions = max_versions
        self._recovery_window_ms = recovery_window_ms
        self._clock = clock
        # Where each recently used secret is, so a write seals for it at once.
        self._places = Places()
        # Reads outside a transaction share round trips (core.coalesce).
        self._reads: Coalescer[tuple[str, str], asyncpg.Record] = Coalescer(secret_rows.read_many)

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def recovery_window_ms(self) -> int:
        return self._recovery_window_ms

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
        precondition: Precondition = NO_PRECONDITION,
    ) -> PutResult[NamespaceT, MetadataT]:
        """Write a new version; ``metadata`` absent keeps it, ``None`` clears it.

        A put to a deleted secret revives it (``is_new``), keeping its history.
        A failed ``precondition`` writes nothing and raises ``conflict``.
        """
        check_namespace(namespace)
        check_name(name)
        check_value(value)
        new_metadata = UNSET if metadata is UNSET else check_metadata(metadata)
        if not isinstance(ttl_ms, Unset) and ttl_ms is not None:
            check_duration_ms("ttl_ms", ttl_ms)
        if precondition.if_match is not None:
            check_version(precondition.if_match)
        keyring = self._keys()
        now = self._clock()
        row = await write_value(
            self._places,
            keyring,
            value,
            value_write(
                self._max_versions,
                namespace,
                name,
                now,
                actor,
                precondition,
                metadata_json=_json_or_none(
                    None if isinstance(new_metadata, Unset) else new_metadata
                ),
                keep_metadata=isinstance(new_metadata, Unset),
                expires_at=expiry_for_put(now, ttl_ms, self._default_ttl_ms),
            ),
        )
        return PutResult(self._info(row), is_new=row["is_new"])

    async def rollback(
        self,
        namespace: NamespaceT,
        name: str,
        version: int,
        *,
        actor: str | None = None,
        precondition: Precondition = NO_PRECONDITION,
    ) -> PutResult[NamespaceT, MetadataT]:
        """Write a new version holding version ``version``'s value; metadata and expiry kept."""
        check_namespace(namespace)
        check_name(name)
        check_version(version)
        if precondition.if_match is not None:
            check_version(precondition.if_match)
        keyring = self._keys()
        old = await self._open(await secret_rows.read_version(namespace, name, version), keyring)
        if isinstance(old, Missing):
            raise SecretStoreError("not_found", "no such secret or version")
        now = self._clock()
        row = await write_value(
            self._places,
            keyring,
            old.secret.value,
            value_write(
                self._max_versions,
                namespace,
                name,
                now,
                actor,
                precondition,
                keep_metadata=True,
                keep_expiry=True,
                rolled_back_from=version,
            ),
        )
        return PutResult(self._info(row), is_new=False)

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

    async def remove(
        self, namespace: NamespaceT, name: str, *, purge: bool = False, actor: str | None = None
    ) -> Removal:
        """Delete a secret: kept, unreadable, for the recovery window; or destroyed (``purge``)."""
        check_namespace(namespace)
        check_name(name)
        window = self._recovery_window_ms
        return await lifecycle.remove(namespace, name, purge, window, self._clock(), actor)

    async def restore(
        self, namespace: NamespaceT, name: str, *, actor: str | None = None
    ) -> SecretInfo[NamespaceT, MetadataT]:
        """Bring a deleted secret back as it was; ``not_found``, or ``conflict`` when active."""
        check_namespace(namespace)
        check_name(name)
        return self._info(await lifecycle.restore(namespace, name, self._clock(), actor))

    async def versions(
        self,
        namespace: NamespaceT,
        name: str,
        *,
        limit: int = DEFAULT_PAGE_LIMIT,
        cursor: str | None = None,
    ) -> Page[VersionInfo]:
        """A secret's kept versions, newest first, deleted or not; never a value."""
        check_namespace(namespace)
        check_name(name)
        check_limit(limit)
        return await lifecycle.versions(namespace, name, limit, cursor)

    # -- reads -------------------------------------------------------------------

    async def get(
        self, namespace: NamespaceT, name: str, *, version: int | None = None
    ) -> GetResult[NamespaceT, MetadataT]:
        """The current value, or (``version``) that earlier one."""
        check_namespace(namespace)
        check_name(name)
        if version is not None:
            check_version(version)
        keyring = self._keys()
        if version is not None:
            row = await secret_rows.read_version(namespace, name, version)
        elif in_transaction():
            row = await secret_rows.read_one(namespace, name)
        else:
            row = await self._reads.load((namespace, name))
        if row is not None and version is None:
            self._places.remember((namespace, name), (row["id"], row["current_version"]))
        return await self._open(row, keyring)

    async def _open(
        self, row: asyncpg.Record | None, keyring: KeyRing
    ) -> GetResult[NamespaceT, MetadataT]:
        return cast(GetResult[NamespaceT, MetadataT], open_row(row, keyring, self._clock()))

    async def get_or_raise(
        self, namespace: NamespaceT, name: str, *, version: int | None = None
    ) -> SecretValue[NamespaceT, MetadataT]:
        result = await self.get(namespace, name, version=version)
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
        deleted: bool = False,
    ) -> Page[ListedSecret[NamespaceT, MetadataT]]:
        """One page of a namespace, most recently updated first (``desc``) or last.

        Active and expired secrets, or (``deleted``) only the deleted ones.
        """
        check_namespace(namespace)
        check_limit(limit)
        check_order(order)
        rows = await secret_rows.page(namespace, name_prefix, order, cursor, limit, deleted=deleted)
        now = self._clock()
        infos = [self._info(row) for row in rows[:limit]]
        last = Position(infos[-1].updated_at, infos[-1].secret_id) if infos else None
        next_cursor = secret_rows.SECRETS_KEYSET.next_cursor(order, len(rows), limit, last)
        window = self._recovery_window_ms
        return Page(
            [
                ListedSecret(
                    info,
                    info.state(now),
                    None if info.deleted_at is None else after_ms(info.deleted_at, window),
                )
                for info in infos
            ],
            next_cursor,
        )

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
        return await maintenance.cleanup_secrets_batch(
            self._clock(), retention_ms, limit, actor, self._recovery_window_ms
        )

    async def cleanup_events_batch(
        self, retention_ms: int | None = None, limit: int = 1000
    ) -> CleanupBatch:
        return await maintenance.cleanup_events_batch(
            self._keys(), self._clock(), retention_ms, limit
        )

    # -- helpers -----------------------------------------------------------------

    def _info(self, row: asyncpg.Record) -> SecretInfo[NamespaceT, MetadataT]:
        return cast(SecretInfo[NamespaceT, MetadataT], secret_info(row))


_MISSING_MESSAGES = {
    "not_found": "no such secret",
    "expired": "the secret has expired",
    "key_unavailable": "the secret's key version is no longer configured",
}


def _json_or_none(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)
