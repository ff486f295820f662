"""Every statement on ``secret_versions`` apart from the put's and the read's.

The history of one secret (newest first, keyset on the version number) and
rotation: the count per key version, the claim of stale versions, the bulk
rewrap and the mark of versions a KEK failed to unwrap. Rotation works on
versions, not secrets: every stored ciphertext has a DEK of its own, whatever
the state of its secret (active, expired or deleted).
"""

from __future__ import annotations

import asyncpg

from core.db import fetch


async def history(
    namespace: str, name: str, before: int | None, limit: int
) -> list[asyncpg.Record]:
    """Up to ``limit + 1`` versions of a secret (deleted or not) below ``before``, newest first.

    Every row has the secret's ``current_version``; a secret with no version in
    the range gives one row whose ``version`` is null, and no secret gives none.
    """
    return await fetch(
        "SELECT s.current_version, v.version, v.created_at, v.actor FROM secrets s"
        " LEFT JOIN LATERAL (SELECT version, created_at, actor FROM secret_versions"
        " WHERE secret_id = s.id AND ($3::int IS NULL OR version < $3::int)"
        " ORDER BY version DESC LIMIT $4) AS v ON true"
        " WHERE s.namespace = $1 AND s.name = $2 ORDER BY v.version DESC",
        namespace,
        name,
        before,
        limit + 1,
    )


# -- rotation ----------------------------------------------------------------------

# A version is claimable while its KEK id differs from the one that failed on
# it: the failed KEK's id is looked up by its key version in the parallel arrays.
_NOT_FAILED = (
    "v.unwrap_failed_kek IS DISTINCT FROM ($2::bytea[])[array_position($1::int[], v.key_version)]"
)


async def key_version_counts(versions: list[int], kek_ids: list[bytes]) -> list[asyncpg.Record]:
    """Per key version: its stored versions, and those its KEK (of ``kek_ids``) failed to unwrap."""
    return await fetch(
        "SELECT key_version, count(*) AS total,"
        " count(*) FILTER (WHERE unwrap_failed_kek IS NOT NULL AND unwrap_failed_kek ="
        " ($2::bytea[])[array_position($1::int[], key_version)]) AS unrewrappable"
        " FROM secret_versions GROUP BY key_version ORDER BY key_version",
        versions,
        kek_ids,
    )


async def claim_stale(
    versions: list[int], kek_ids: list[bytes], limit: int
) -> list[asyncpg.Record]:
    """Lock up to ``limit`` rewrappable versions of key ``versions`` that no other batch holds.

    Each comes with its secret's id, namespace and name, which its AAD binds.
    """
    return await fetch(
        "SELECT v.id, v.secret_id, v.version, v.aad_layout, v.key_version, v.wrapped_dek,"
        " v.dek_nonce, s.namespace, s.name"
        " FROM secret_versions v JOIN secrets s ON s.id = v.secret_id"
        f" WHERE v.key_version = ANY($1::int[]) AND {_NOT_FAILED}"
        " LIMIT $3 FOR UPDATE OF v SKIP LOCKED",
        versions,
        kek_ids,
        limit,
    )


async def rewrap(
    ids: list[int], wrapped_deks: list[bytes], dek_nonces: list[bytes], version: int
) -> None:
    """Store the rewrapped DEKs of version rows ``ids`` under key ``version``, in one statement."""
    await fetch(
        "UPDATE secret_versions AS v SET wrapped_dek = r.wrapped_dek, dek_nonce = r.dek_nonce,"
        " key_version = $4, unwrap_failed_kek = NULL"
        " FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])"
        " AS r(id, wrapped_dek, dek_nonce) WHERE v.id = r.id",
        ids,
        wrapped_deks,
        dek_nonces,
        version,
    )


async def mark_unrewrappable(ids: list[int], kek_ids: list[bytes]) -> None:
    """Record, per version row, the id of the KEK that failed to unwrap it."""
    await fetch(
        "UPDATE secret_versions AS v SET unwrap_failed_kek = f.kek"
        " FROM unnest($1::bigint[], $2::bytea[]) AS f(id, kek) WHERE v.id = f.id",
        ids,
        kek_ids,
    )


__all__ = [
    "claim_stale",
    "history",
    "key_version_counts",
    "mark_unrewrappable",
    "rewrap",
]
