"""Every statement on the ``secrets`` table, and the reads and writes of a value.

A value lives in ``secret_versions``, but the read of a secret's value and
the put (lock the secret, write its next version, prune, record the event)
are about the secret, so they are here, one statement each: one round trip.
The fields an update changed are decided once, in SQL (:func:`_updated_detail`).
Reads, pages and cleanup are SQL; a soft delete's mark and a purge go through
the query builder. Rotation's statements are in :mod:`core.queries.secret_versions`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from core.access import NamespaceScope
from core.cursor import Keyset
from core.db import fetch, fetch_one
from core.sqlscope import scope_condition
from core.tables import SecretRow
from core.validation import Order

INFO_COLUMNS = (
    "id, namespace, name, metadata, created_at, updated_at, expires_at, current_version, deleted_at"
)
# The key version of the current version's DEK, beside a row of ``secrets``.
_CURRENT_KEY_VERSION = (
    "(SELECT v.key_version FROM secret_versions v"
    " WHERE v.secret_id = secrets.id AND v.version = secrets.current_version) AS key_version"
)

SECRETS_KEYSET = Keyset("secrets", "updated_at", uuid.UUID)

# -- reads ---------------------------------------------------------------------

# The secret and its current version in one index lookup each: the read of a
# value is one round trip. Deleted secrets are not found.
_SEALED_COLUMNS = (
    "v.key_version, v.ciphertext, v.value_nonce, v.wrapped_dek, v.dek_nonce, v.aad_layout"
)
_READ_ONE = (
    "SELECT s.id, s.namespace, s.name, s.metadata, s.created_at, s.updated_at, s.expires_at,"
    f" s.current_version, s.deleted_at, s.current_version AS version, {_SEALED_COLUMNS}"
    " FROM secrets s JOIN secret_versions v"
    " ON v.secret_id = s.id AND v.version = s.current_version"
    " WHERE s.namespace = $1 AND s.name = $2 AND s.deleted_at IS NULL"
)
# One index lookup per key: the LATERAL subquery keeps the plan a nested loop
# over the keys, whatever the planner guesses of the arrays' length.
_READ_MANY = (
    f"SELECT r.* FROM unnest($1::text[], $2::text[]) AS k(namespace, name),"
    f" LATERAL ({_READ_ONE.replace('$1', 'k.namespace').replace('$2', 'k.name')}) AS r"
)
# An earlier version: ``updated_at`` is the time that version was written.
_READ_VERSION = (
    "SELECT s.id, s.namespace, s.name, s.metadata, s.created_at, v.created_at AS updated_at,"
    f" s.expires_at, s.current_version, s.deleted_at, v.version, {_SEALED_COLUMNS}"
    " FROM secrets s JOIN secret_versions v ON v.secret_id = s.id AND v.version = $3"
    " WHERE s.namespace = $1 AND s.name = $2 AND s.deleted_at IS NULL"
)


async def read_one(namespace: str, name: str) -> asyncpg.Record | None:
    """The current sealed version of one secret, on the current transaction's connection if any."""
    return await fetch_one(_READ_ONE, namespace, name)


async def read_many(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], asyncpg.Record]:
    """The sealed rows of the (namespace, name) ``keys`` that exist (core.coalesce's loader)."""
    if len(keys) == 1:
        row = await fetch_one(_READ_ONE, *keys[0])
        return {keys[0]: row} if row is not None else {}
    namespaces, names = zip(*keys, strict=True)
    rows = await fetch(_READ_MANY, list(namespaces), list(names))
    return {(row["namespace"], row["name"]): row for row in rows}


async def read_version(namespace: str, name: str, version: int) -> asyncpg.Record | None:
    """Version ``version`` of a secret that is not deleted, sealed; ``None`` if there is none."""
    return await fetch_one(_READ_VERSION, namespace, name, version)


async def page(
    namespace: str,
    name_prefix: str | None,
    order: Order,
    cursor: str | None,
    limit: int,
    *,
    deleted: bool = False,
) -> list[asyncpg.Record]:
    """Up to ``limit + 1`` rows of a namespace after ``cursor`` (see :class:`Keyset`).

    The secrets that are not deleted, or (``deleted``) only the deleted ones.
    """
    args: list[Any] = [namespace]
    conditions = [
        "namespace = $1",
        "deleted_at IS NOT NULL" if deleted else "deleted_at IS NULL",
    ]
    if name_prefix:
        args.append(_like_prefix(name_prefix))
        conditions.append(f"name LIKE ${len(args)}")
    after = SECRETS_KEYSET.after(order, cursor, args)
    if after is not None:
        conditions.append(after)
    return await fetch(
        f"SELECT {INFO_COLUMNS}, {_CURRENT_KEY_VERSION} FROM secrets"
        f" WHERE {' AND '.join(conditions)} " + SECRETS_KEYSET.order_by(order, limit, args),
        *args,
    )


async def namespace_counts(scope: NamespaceScope, now: datetime) -> list[asyncpg.Record]:
    """Per namespace in ``scope``: its secrets and how many of them expired at ``now``.

    Deleted secrets are not counted.
    """
    # SQL, not the query builder: the scope filter has one form, shared with
    # the audit listing (core.sqlscope).
    args: list[Any] = [now]
    where = scope_condition(scope, args)
    return await fetch(
        "SELECT namespace, count(*) AS secrets,"
        " count(*) FILTER (WHERE expires_at <= $1) AS expired"
        f" FROM secrets WHERE {where} AND deleted_at IS NULL"
        " GROUP BY namespace ORDER BY namespace",
        *args,
    )


# -- writes --------------------------------------------------------------------


def _updated_detail(*, value_version: str | None, rolled_back_from: str | None = None) -> str:
    """The ``updated`` event's detail: ``{"changed": [...]}`` in the order value, metadata, ttl.

    The one home of the rule; it compares the row as written (``metadata``,
    ``expires_at``) with the row as it was (``metadata_before``,
    ``expires_before``). When a value was written (``value_version``, an SQL
    expression) the detail names its version, and a rollback the version it
    copied (``rolled_back_from``, an SQL expression, null when it is none).
    """
    value = "\n            'value'," if value_version else ""
    changed = f"""jsonb_build_object('changed', to_jsonb(array_remove(ARRAY[{value}
            CASE WHEN metadata IS DISTINCT FROM metadata_before THEN 'metadata' END,
            CASE WHEN expires_at IS DISTINCT FROM expires_before THEN 'ttl' END
        ], NULL)))"""
    if value_version is None:
        return changed
    extra = f"jsonb_build_object('version', {value_version})"
    if rolled_back_from is not None:
        rollback = f"jsonb_build_object('rolled_back_from', {rolled_back_from})"
        extra = f"jsonb_strip_nulls({extra} || {rollback})"
    return f"{changed} || {extra}"


_WRITTEN_INFO = "id, namespace, name, metadata, created_at, updated_at, expires_at, current_version"

# A value write in one statement, so one round trip. The value was sealed for
# ($1, $4): the secret id and version number the caller expects to write.
# Under the row lock the statement decides (``verdict``):
#   conflict  a precondition (If-Match $16, If-None-Match $17) does not hold;
#   missing   a rollback ($19) of a secret that is absent or deleted;
#   replace   the secret is $1 and $4 is its next version: write it (reviving
#             a deleted secret);
#   create    no secret of that name and $4 is 1: create it as $1;
#   reseal    the expectation was wrong: nothing is written, and the row tells
#             the caller the secret's id and version to seal for.
# A version is written with the secret, versions below the newest $18 are
# pruned, and the event is recorded, all in the statement's one commit.
_PUT = f"""
WITH old AS (
    SELECT id, metadata, expires_at, current_version, deleted_at FROM secrets
    WHERE namespace = $2 AND name = $3 FOR UPDATE
), verdict AS (
    SELECT CASE
        WHEN $16::int IS NOT NULL AND (old.id IS NULL OR old.deleted_at IS NOT NULL
            OR old.current_version <> $16::int) THEN 'conflict'
        WHEN $17 AND old.id IS NOT NULL AND old.deleted_at IS NULL THEN 'conflict'
        WHEN $19::int IS NOT NULL AND (old.id IS NULL OR old.deleted_at IS NOT NULL)
            THEN 'missing'
        WHEN old.id IS NULL THEN CASE WHEN $4::int = 1 THEN 'create' ELSE 'reseal' END
        WHEN old.id = $1 AND old.current_version + 1 = $4::int THEN 'replace'
        ELSE 'reseal'
    END AS action, old.id AS found_id, old.current_version AS found_version,
        old.deleted_at AS found_deleted_at
    FROM (SELECT) AS one LEFT JOIN old ON true
), replaced AS (
    UPDATE secrets AS s SET
        metadata = CASE WHEN $11 AND old.deleted_at IS NULL THEN old.metadata
            ELSE $10::jsonb END,
        expires_at = CASE WHEN $14 THEN old.expires_at ELSE $13::timestamptz END,
        updated_at = $12, current_version = $4::int, deleted_at = NULL
    FROM old, verdict WHERE s.id = old.id AND verdict.action = 'replace'
    RETURNING {", ".join(f"s.{c}" for c in _WRITTEN_INFO.split(", "))},
        old.metadata AS metadata_before, old.expires_at AS expires_before,
        old.deleted_at IS NOT NULL AS is_new
), created AS (
    INSERT INTO secrets (id, namespace, name, metadata, created_at, updated_at, expires_at,
        current_version, deleted_at)
    SELECT $1, $2, $3, $10::jsonb, $12, $12, $13, 1, NULL FROM verdict
    WHERE verdict.action = 'create'
    ON CONFLICT (namespace, name) DO NOTHING
    RETURNING {_WRITTEN_INFO}
), written AS (
    SELECT {_WRITTEN_INFO}, metadata_before, expires_before, is_new FROM replaced
    UNION ALL
    SELECT {_WRITTEN_INFO}, NULL::jsonb, NULL::timestamptz, true FROM created
), versioned AS (
    INSERT INTO secret_versions (secret_id, version, ciphertext, value_nonce, wrapped_dek,
        dek_nonce, key_version, unwrap_failed_kek, aad_layout, created_at, actor)
    SELECT id, current_version, $5, $6, $7, $8, $9, NULL, $20, $12, $15 FROM written
), pruned AS (
    DELETE FROM secret_versions AS v USING written
    WHERE v.secret_id = written.id AND v.version <= written.current_version - $18::int
), recorded AS (
    INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)
    SELECT id, namespace, name, CASE WHEN is_new THEN 'created' ELSE 'updated' END, $15,
        CASE WHEN is_new THEN jsonb_build_object('version', current_version)
        ELSE {_updated_detail(value_version="current_version", rolled_back_from="$19::int")}
        END,
        $12
    FROM written
)
SELECT verdict.action, verdict.found_id, verdict.found_version, verdict.found_deleted_at,
    w.id, w.namespace, w.name, w.metadata, w.created_at, w.updated_at, w.expires_at,
    w.current_version, NULL::timestamptz AS deleted_at, $9::int AS key_version,
    w.is_new
FROM verdict LEFT JOIN written AS w ON true
"""


@dataclass(frozen=True)
class ValueWrite:
    """What one value write asks of :func:`put`.

    ``secret_id`` and ``version`` are where the value was sealed for: the
    statement writes only if they are still the secret's id and next version.
    """

    secret_id: uuid.UUID
    namespace: str
    name: str
    version: int
    sealed: tuple[bytes, bytes, bytes, bytes, int]
    aad_layout: int
    metadata_json: str | None
    keep_metadata: bool
    now: datetime
    expires_at: datetime | None
    keep_expiry: bool
    actor: str | None
    if_match: int | None
    if_none_match: bool
    max_versions: int
    rolled_back_from: int | None


async def put(write: ValueWrite) -> asyncpg.Record:
    """Write a value as the secret's next version, or say why not (``action``, see ``_PUT``).

    The row always has ``action`` and ``found_id``/``found_version``/
    ``found_deleted_at`` (the secret as it was); when the value was written it
    also has the secret's fields and ``is_new``. ``action`` ``create`` without
    a written row means a concurrent put created the secret first.
    """
    row = await fetch_one(
        _PUT,
        write.secret_id,
        write.namespace,
        write.name,
        write.version,
        *write.sealed,
        write.metadata_json,
        write.keep_metadata,
        write.now,
        write.expires_at,
        write.keep_expiry,
        write.actor,
        write.if_match,
        write.if_none_match,
        write.max_versions,
        write.rolled_back_from,
        write.aad_layout,
    )
    assert row is not None  # verdict always has one row
    return row


async def lock(namespace: str, name: str) -> asyncpg.Record | None:
    """Lock a secret's row for the current transaction: its id and current version."""
    return await fetch_one(
        "SELECT id, current_version FROM secrets WHERE namespace = $1 AND name = $2 FOR UPDATE",
        namespace,
        name,
    )


_RETURNING_INFO = ", ".join(f"s.{c}" for c in INFO_COLUMNS.split(", "))

# The update in one statement, as the put: the row lock serialises it with
# every other write of the secret, and the event compares with the locked row.
# It makes no version: metadata and expiry belong to the secret.
_UPDATE = f"""
WITH old AS (
    SELECT id, metadata, expires_at FROM secrets
    WHERE namespace = $1 AND name = $2 AND deleted_at IS NULL FOR UPDATE
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
        {_updated_detail(value_version=None)},
        $7
    FROM changed
)
SELECT {INFO_COLUMNS}, {_CURRENT_KEY_VERSION} FROM changed AS secrets
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


async def lock_state(namespace: str, name: str) -> asyncpg.Record | None:
    """Lock a secret, deleted or not, for the current transaction: its fields."""
    return await fetch_one(
        f"SELECT {INFO_COLUMNS}, {_CURRENT_KEY_VERSION} FROM secrets"
        " WHERE namespace = $1 AND name = $2 FOR UPDATE",
        namespace,
        name,
    )


async def mark_deleted(secret_id: uuid.UUID, now: datetime | None) -> None:
    """Set (``now``) or clear (``None``) a secret's ``deleted_at``."""
    await SecretRow.update({SecretRow.deleted_at: now}).where(SecretRow.id == secret_id)


async def purge(secret_id: uuid.UUID) -> None:
    """Destroy a secret and, through the foreign key, every version of it."""
    await SecretRow.delete().where(SecretRow.id == secret_id)


# -- cleanup ------------------------------------------------------------------


async def delete_expired(cutoff: datetime, limit: int) -> list[asyncpg.Record]:
    """Delete up to ``limit`` rows that expired before ``cutoff`` and no other batch holds."""
    return await fetch(
        "DELETE FROM secrets WHERE id IN (SELECT id FROM secrets WHERE expires_at < $1"
        " AND deleted_at IS NULL"
        " ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, namespace, name",
        cutoff,
        limit,
    )


async def purge_deleted(cutoff: datetime, limit: int) -> list[asyncpg.Record]:
    """Purge up to ``limit`` secrets deleted before ``cutoff`` that no other batch holds."""
    return await fetch(
        "DELETE FROM secrets WHERE id IN (SELECT id FROM secrets WHERE deleted_at < $1"
        " ORDER BY deleted_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, namespace, name",
        cutoff,
        limit,
    )


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
