"""Every statement on the ``api_tokens`` table.

Creating, listing and finding a token by id go through the query builder. The
lookup by hash is SQL because it is on the request path (a token-cache miss),
and the revoke is SQL because its ``NOTIFY`` must be part of its ``UPDATE``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import asyncpg

from core.db import fetch_one
from core.tables import ApiTokenRow

# A row from the query builder (a dict) or from SQL (a record): both by column name.
Row = Mapping[str, Any] | asyncpg.Record


async def insert(
    *,
    name: str,
    token_hash: str,
    namespaces: list[str],
    capabilities: list[str],
    created_by: str | None,
    created_at: datetime,
    expires_at: datetime | None,
) -> Row:
    rows = await ApiTokenRow.insert(
        ApiTokenRow(
            id=uuid.uuid4(),
            name=name,
            token_hash=token_hash,
            namespaces=namespaces,
            capabilities=capabilities,
            created_by=created_by,
            created_at=created_at,
            expires_at=expires_at,
            revoked_at=None,
        )
    ).returning(*ApiTokenRow.all_columns())
    row: Row = rows[0]
    return row


async def all_by_creation() -> list[dict[str, Any]]:
    """Every token, oldest first."""
    rows: list[dict[str, Any]] = await ApiTokenRow.select().order_by(
        ApiTokenRow.created_at, ApiTokenRow.id
    )
    return rows


async def by_id(token_id: uuid.UUID) -> Row | None:
    row: Row | None = await ApiTokenRow.select().where(ApiTokenRow.id == token_id).first()
    return row


async def by_hash(token_hash: str) -> Row | None:
    return await fetch_one("SELECT * FROM api_tokens WHERE token_hash = $1", token_hash)


async def revoke(token_id: uuid.UUID, now: datetime, channel: str) -> Row | None:
    """Revoke (keeping an earlier revocation's time) and notify ``channel`` with the id.

    The ``NOTIFY`` is part of the ``UPDATE``'s statement, so it is sent if and
    only if the revocation commits.
    """
    return await fetch_one(
        "WITH revoked AS (UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2)"
        " WHERE id = $1 RETURNING *)"
        " SELECT revoked.*, pg_notify($3, revoked.id::text) FROM revoked",
        token_id,
        now,
        channel,
    )
