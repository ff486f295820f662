"""A secret's life after its writes: soft delete, restore, purge, and its history.

A delete is soft: the secret and every version stay, unreadable, for the
recovery window, and :func:`restore` brings them back as they were. A purge
destroys the secret and, through the foreign key, its versions; the secrets
cleanup purges deleted secrets whose window has passed
(:func:`core.maintenance.cleanup_secrets_batch`). Each step is one
transaction that locks the secret's row, so it is serialised with every
write of that secret.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from core import audit
from core.cursor import Position, decode_cursor, encode_cursor
from core.db import transaction
from core.errors import SecretStoreError
from core.models import Page, Removal, VersionInfo
from core.queries import secret_rows, secret_versions
from core.timeutil import after_ms

RECOVERY_WINDOW_MS = 7 * 24 * 3600 * 1000

_HISTORY = "versions"
# Version cursors carry a version number; the time part of Position is unused.
_NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)


async def remove(
    namespace: str,
    name: str,
    purge: bool,
    recovery_window_ms: int,
    now: datetime,
    actor: str | None,
) -> Removal:
    """Delete softly (or purge: asked for, or a window of 0); ``removed`` false if nothing was.

    A deleted secret is deleted again by nothing but a purge.
    """
    async with transaction():
        row = await secret_rows.lock_state(namespace, name)
        if row is None:
            return Removal(removed=False)
        secret_id = str(row["id"])
        if purge or recovery_window_ms == 0:
            await secret_rows.purge(row["id"])
            await audit.record(
                secret_id, namespace, name, "purged", actor, {"reason": "requested"}, now
            )
            return Removal(removed=True, purged=True)
        if row["deleted_at"] is not None:
            return Removal(removed=False)
        await secret_rows.mark_deleted(row["id"], now)
        await audit.record(secret_id, namespace, name, "deleted", actor, {"reason": "removed"}, now)
        return Removal(removed=True, restorable_until=after_ms(now, recovery_window_ms))


async def restore(namespace: str, name: str, now: datetime, actor: str | None) -> asyncpg.Record:
    """Clear a deleted secret's mark; the secret's row as it is now restored."""
    async with transaction():
        row = await secret_rows.lock_state(namespace, name)
        if row is None:
            raise SecretStoreError("not_found", "no deleted secret of that name")
        if row["deleted_at"] is None:
            raise SecretStoreError("conflict", "the secret is not deleted")
        await secret_rows.mark_deleted(row["id"], None)
        await audit.record(
            str(row["id"]),
            namespace,
            name,
            "restored",
            actor,
            {"version": row["current_version"]},
            now,
        )
        restored = await secret_rows.lock_state(namespace, name)
        assert restored is not None  # locked above, in this transaction
        return restored


async def versions(namespace: str, name: str, limit: int, cursor: str | None) -> Page[VersionInfo]:
    """Kept versions, newest first, ``limit`` a page; ``not_found`` if no such secret."""
    before = None
    if cursor is not None:
        position = decode_cursor(_HISTORY, "desc", cursor)
        if not position.row_id.isdigit() or len(position.row_id) > 10:
            raise SecretStoreError("invalid_argument", "cursor is not valid for this listing")
        before = int(position.row_id)
    rows = await secret_versions.history(namespace, name, before, limit)
    if not rows:
        raise SecretStoreError("not_found", "no such secret")
    kept = [row for row in rows if row["version"] is not None]
    items = [
        VersionInfo(
            version=row["version"],
            created_at=row["created_at"],
            actor=row["actor"],
            current=row["version"] == row["current_version"],
        )
        for row in kept[:limit]
    ]
    next_cursor = None
    if len(kept) > limit:
        next_cursor = encode_cursor(_HISTORY, "desc", Position(_NO_TIME, str(items[-1].version)))
    return Page(items, next_cursor)
