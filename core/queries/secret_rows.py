"""Every statement on the ``secrets`` table.

The put and the update are one statement each (lock, write, audit event), so
one round trip, and the fields an update changed are decided once, in SQL
(:func:`_updated_detail`). Reads, pages, the rotation claim and the bulk
rewrap are SQL; the delete of one secret goes through the query builder.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from core.access import NamespaceScope
from core.cursor import Keyset
from core.db import fetch, fetch_one
from core.sqlscope import scope_condition
from core.tables import SecretRow
from core.validation import Order

INFO_COLUMNS = "id, namespace, name, metadata, created_at, updated_at, expires_at, key_version"

SECRETS_KEYSET = Keyset("secrets", "updated_at", uuid.UUID)

# -- reads ---------------------------------------------------------------------

_READ_COLUMNS = f"{INFO_COLUMNS}, ciphertext, value_nonce, wrapped_dek, dek_nonce"
_READ_ONE = f"SELECT {_READ_COLUMNS} FROM secrets WHERE namespace = $1 AND name = $2"
# One index lookup per key: the LATERAL subquery keeps the plan a nested loop
# over the keys, whatever the planner guesses of the arrays' length.
_READ_MANY = (
    f"SELECT s.* FROM unnest($1::text[], $2::text[]) AS k(namespace, name),"
    f" LATERAL ({_READ_ONE.replace('$1', 'k.namespace').replace('$2', 'k.name')}) AS s"
)


async def read_one(namespace: str, name: str) -> asyncpg.Record | None:
    """The sealed row of one secret, on the current transaction's connection if any."""
    return await fetch_one(_READ_ONE, namespace, name)


async def read_many(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], asyncpg.Record]:
    """The sealed rows of the (namespace, name) ``keys`` that exist (core.coalesce's loader)."""
    if len(keys) == 1:
        row = await fetch_one(_READ_ONE, *keys[0])
        return {keys[0]: row} if row is not None else {}
    namespaces, names = zip(*keys, strict=True)
    rows = await fetch(_READ_MANY, list(namespaces), list(names))
    return {(row["namespace"], row["name"]): row for row in rows}


async def page(
    namespace: str, name_prefix: str | None, order: Order, cursor: str | None, limit: int
) -> list[asyncpg.Record]:
    """Up to ``limit + 1`` rows of a namespace after ``cursor`` (see :class:`Keyset`)."""
    args: list[Any] = [namespace]
    conditions = ["namespace = $1"]
    if name_prefix:
        args.append(_like_prefix(name_prefix))
        conditions.append(f"name LIKE ${len(args)}")
    after = SECRETS_KEYSET.after(order, cursor, args)
    if after is not None:
        conditions.append(after)
    return await fetch(
        f"SELECT {INFO_COLUMNS} FROM secrets WHERE {' AND '.join(conditions)} "
        + SECRETS_KEYSET.order_by(order, limit, args),
        *args,
    )


async def namespace_counts(scope: NamespaceScope, now: datetime) -> list[asyncpg.Record]:
    """Per namespace in ``scope``: its secrets and how many of them expired at ``now``."""
    # SQL, not the query builder: the scope filter has one form, shared with
    # the audit listing (core.sqlscope).
    args: list[Any] = [now]
    where = scope_condition(scope, args)
    return await fetch(
        "SELECT namespace, count(*) AS secrets,"
        " count(*) FILTER (WHERE expires_at <= $1) AS expired"
        f" FROM secrets WHERE {where} GROUP BY namespace ORDER BY namespace",
        *args,
    )


# -- writes --------------------------------------------------------------------


def _updated_detail(*, value_changed: bool) -> str:
    """The ``updated`` event's detail: ``{"changed": [...]}`` in the order value, metadata, ttl.

    The one home of the rule; it compares the row as written (``metadata``,
    ``expires_at``) with the row as it was (``metadata_before``,
    ``expires_before``).
    """
    value = "\n            'value'," if value_changed else ""
    return f"""jsonb_build_object('changed', to_jsonb(array_remove(ARRAY[{value}
            CASE WHEN metadata IS DISTINCT FROM metadata_before THEN 'metadata' END,
            CASE WHEN expires_at IS DISTINCT FROM expires_before THEN 'ttl' END
        ], NULL)))"""


_RETURNING_INFO = ", ".join(f"s.{c}" for c in INFO_COLUMNS.split(", "))

# A put in one statement, so one round trip: lock the row if it exists and
# replace its value (metadata kept when $10), or create it; record the event.
# Every part sees the row as locked, and the statement commits as a whole.
_PUT = f"""
WITH old AS (
    SELECT id, metadata, expires_at FROM secrets
    WHERE namespace = $2 AND name = $3 FOR UPDATE
), replaced AS (
    UPDATE secrets AS s SET ciphertext = $4, value_nonce = $5, wrapped_dek = $6,
        dek_nonce = $7, key_version = $8, unwrap_failed_kek = NULL,
        metadata = CASE WHEN $10 THEN old.metadata ELSE $9::jsonb END,
        updated_at = $11, expires_at = $12
    FROM old WHERE s.id = old.id
    RETURNING {_RETURNING_INFO},
        old.metadata AS metadata_before, old.expires_at AS expires_before
), created AS (
    INSERT INTO secrets (id, namespace, name, ciphertext, value_nonce, wrapped_dek,
        dek_nonce, key_version, metadata, created_at, updated_at, expires_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $11, $11, $12
    WHERE NOT EXISTS (SELECT FROM old)
    ON CONFLICT (namespace, name) DO NOTHING
    RETURNING {INFO_COLUMNS}
), recorded AS (
    INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)
    SELECT id, namespace, name, 'updated', $13,
        {_updated_detail(value_changed=True)},
        $11
    FROM replaced
    UNION ALL
    SELECT id, namespace, name, 'created', $13, '{{}}'::jsonb, $11 FROM created
)
SELECT {INFO_COLUMNS}, false AS is_new FROM replaced
UNION ALL
SELECT {INFO_COLUMNS}, true AS is_new FROM created
"""


async def put(
    secret_id: uuid.UUID,
    namespace: str,
    name: str,
    sealed: tuple[bytes, bytes, bytes, bytes, int],
    metadata_json: str | None,
    keep_metadata: bool,
    now: datetime,
    expires_at: datetime | None,
    actor: str | None,
) -> asyncpg.Record | None:
    """Replace or create, with its ``created`` or ``updated`` event; the row and ``is_new``.

    ``None`` when a concurrent put created the row after this one looked for it
    (``ON CONFLICT DO NOTHING``): that put has committed, so running this again
    replaces it. ``sealed`` is (ciphertext, value_nonce, wrapped_dek,
    dek_nonce, key_version).
    """
    return await fetch_one(
        _PUT,
        secret_id,
        namespace,
        name,
        *sealed,
        metadata_json,
        keep_metadata,
        now,
        expires_at,
        actor,
    )


# The update in one statement, as the put: the row lock serialises it with
# every other write of the secret, and the event compares with the locked row.
_UPDATE = f"""
WITH old AS (
    SELECT id, metadata, expires_at FROM secrets
    WHERE namespace = $1 AND name = $2 FOR UPDATE
), changed AS (
    UPDATE secrets AS s SET
        metadata = CASE WHEN $4 THEN old.metadata ELSE $3::jsonb END,
        expires_at = CASE WHEN $6 THEN old.expires_at ELSE $5::timestamptz END,
        updated_at = $7
    FROM old WHERE s.id = old.id
    RETURNING {_RETURNING_INFO},
        old.metadata AS metadata_before, old.expires_at AS expires_before
), recorded AS (
    INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)
    SELECT id, namespace, name, 'updated', $8,
        {_updated_detail(value_changed=False)},
        $7
    FROM changed
)
SELECT {INFO_COLUMNS} FROM changed
"""


async def update(
    namespace: str,
    name: str,
    metadata_json: str | None,
    keep_metadata: bool,
    expires_at: datetime | None,
    keep_expiry: bool,
    now: datetime,
    actor: str | None,
) -> asyncpg.Record | None:
    """Change metadata and/or expiry, with the ``updated`` event; ``None`` if no such secret."""
    return await fetch_one(
        _UPDATE, namespace, name, metadata_json, keep_metadata, expires_at, keep_expiry, now, actor
    )


async def delete(namespace: str, name: str) -> uuid.UUID | None:
    """Delete one secret; its id, or ``None`` when there was none."""
    rows = (
        await SecretRow.delete()
        .where((SecretRow.namespace == namespace) & (SecretRow.name == name))
        .returning(SecretRow.id)
    )
    return rows[0]["id"] if rows else None


# -- rotation and cleanup ----------------------------------------------------------

# A row is claimable while its KEK id differs from the one that failed on it:
# the failed KEK's id is looked up by the row's version in the parallel arrays.
_NOT_FAILED = (
    "unwrap_failed_kek IS DISTINCT FROM ($2::bytea[])[array_position($1::int[], key_version)]"
)


async def version_counts(versions: list[int], kek_ids: list[bytes]) -> list[asyncpg.Record]:
    """Per key version: its rows, and those its KEK (of ``kek_ids``) failed to unwrap."""
    return await fetch(
        "SELECT key_version, count(*) AS total,"
        " count(*) FILTER (WHERE unwrap_failed_kek IS NOT NULL AND unwrap_failed_kek ="
        " ($2::bytea[])[array_position($1::int[], key_version)]) AS unrewrappable"
        " FROM secrets GROUP BY key_version ORDER BY key_version",
        versions,
        kek_ids,
    )


async def claim_stale(
    versions: list[int], kek_ids: list[bytes], limit: int
) -> list[asyncpg.Record]:
    """Lock up to ``limit`` rewrappable rows of ``versions`` that no other batch holds."""
    return await fetch(
        "SELECT id, namespace, name, key_version, wrapped_dek, dek_nonce FROM secrets"
        f" WHERE key_version = ANY($1::int[]) AND {_NOT_FAILED}"
        " LIMIT $3 FOR UPDATE SKIP LOCKED",
        versions,
        kek_ids,
        limit,
    )


async def rewrap(
    ids: list[uuid.UUID], wrapped_deks: list[bytes], dek_nonces: list[bytes], version: int
) -> None:
    """Store the rewrapped DEKs of ``ids`` under ``version``, in one statement."""
    await fetch(
        "UPDATE secrets AS s SET wrapped_dek = r.wrapped_dek, dek_nonce = r.dek_nonce,"
        " key_version = $4, unwrap_failed_kek = NULL"
        " FROM unnest($1::uuid[], $2::bytea[], $3::bytea[])"
        " AS r(id, wrapped_dek, dek_nonce) WHERE s.id = r.id",
        ids,
        wrapped_deks,
        dek_nonces,
        version,
    )


async def mark_unrewrappable(ids: list[uuid.UUID], kek_ids: list[bytes]) -> None:
    """Record, per row, the id of the KEK that failed to unwrap it."""
    await fetch(
        "UPDATE secrets AS s SET unwrap_failed_kek = f.kek"
        " FROM unnest($1::uuid[], $2::bytea[]) AS f(id, kek) WHERE s.id = f.id",
        ids,
        kek_ids,
    )


async def delete_expired(cutoff: datetime, limit: int) -> list[asyncpg.Record]:
    """Delete up to ``limit`` rows that expired before ``cutoff`` and no other batch holds."""
    return await fetch(
        "DELETE FROM secrets WHERE id IN (SELECT id FROM secrets WHERE expires_at < $1"
        " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, namespace, name",
        cutoff,
        limit,
    )


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
