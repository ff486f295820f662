"""Every statement on the ``audit_events`` table (the put's and the update's
events are written by their own statements, in :mod:`core.queries.secret_rows`).

One event goes through the query builder; a batch's events are one
multi-row ``INSERT`` from ``unnest``; pages and cleanup are SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from core.access import NamespaceScope
from core.cursor import Keyset
from core.db import fetch
from core.sqlscope import scope_condition
from core.tables import AuditEventRow
from core.validation import Order


def _event_row_id(text: str) -> int:
    # bigserial ids: decimal digits that fit in a bigint
    if not text.isdigit() or len(text) > 18:
        raise ValueError(text)
    return int(text)


EVENTS_KEYSET = Keyset("events", "created_at", _event_row_id)


async def insert(
    secret_id: uuid.UUID,
    namespace: str,
    name: str,
    type: str,
    actor: str | None,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    await AuditEventRow.insert(
        AuditEventRow(
            secret_id=secret_id,
            namespace=namespace,
            name=name,
            type=type,
            actor=actor,
            detail=detail,
            created_at=now,
        )
    )


async def insert_many(
    rows: Sequence[tuple[uuid.UUID, str, str]],
    type: str,
    actor: str | None,
    details: Sequence[str],
    now: datetime,
) -> None:
    """One statement for a batch: ``rows`` are (secret_id, namespace, name), ``details`` JSON."""
    await fetch(
        "INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)"
        " SELECT e.secret_id, e.namespace, e.name, $4, $5, e.detail::jsonb, $6"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $7::text[])"
        " AS e(secret_id, namespace, name, detail)",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        type,
        actor,
        now,
        list(details),
    )


async def page(
    scope: NamespaceScope,
    *,
    namespace: str | None,
    name: str | None,
    type: str | None,
    secret_id: uuid.UUID | None,
    order: Order,
    cursor: str | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Up to ``limit + 1`` events in ``scope`` after ``cursor``; each filter given must match."""
    args: list[Any] = []
    conditions = [scope_condition(scope, args)]
    filters = {"namespace": namespace, "name": name, "type": type, "secret_id": secret_id}
    for column, value in filters.items():
        if value is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}")
    after = EVENTS_KEYSET.after(order, cursor, args)
    if after is not None:
        conditions.append(after)
    return await fetch(
        "SELECT id, secret_id, namespace, name, type, actor, detail, created_at"
        f" FROM audit_events WHERE {' AND '.join(conditions)} "
        + EVENTS_KEYSET.order_by(order, limit, args),
        *args,
    )


async def delete_older(cutoff: datetime, limit: int) -> list[asyncpg.Record]:
    """Delete up to ``limit`` events created before ``cutoff`` that no other batch holds."""
    return await fetch(
        "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events"
        " WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " RETURNING id",
        cutoff,
        limit,
    )
