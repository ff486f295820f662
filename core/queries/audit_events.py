"""Every statement on the ``audit_events`` table (the put's and the update's
events are written by their own statements, in :mod:`core.queries.secret_rows`).

One event goes through the query builder; a batch's events are one
multi-row ``INSERT`` from ``unnest``; pages, cleanup and the sealer's reads
are SQL. The sealer's frontier comes from the id sequence and the lock table
(:func:`last_assigned_id`, :func:`writers`): see ``core.audit_chain``.
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
        "SELECT id, secret_id, namespace, name, type, actor, detail, created_at,"
        " (SELECT seq FROM audit_seals WHERE event_id = audit_events.id) AS seq"
        f" FROM audit_events WHERE {' AND '.join(conditions)} "
        + EVENTS_KEYSET.order_by(order, limit, args),
        *args,
    )


_COLUMNS = "id, secret_id, namespace, name, type, actor, detail, created_at"


async def last_assigned_id() -> int | None:
    """The highest id the id sequence has handed out (committed or not), ``None`` before any."""
    row = await fetch_one(
        "SELECT pg_sequence_last_value(pg_get_serial_sequence('audit_events', 'id')) AS id"
    )
    return None if row is None else row["id"]


async def writers() -> list[str]:
    """The transactions (virtual ids) that may be writing events now, other than our own.

    An insert takes its ``RowExclusiveLock`` on the table before it draws an id,
    so every transaction that drew an id so far is in this list.
    """
    rows = await fetch(
        "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation'"
        " AND relation = 'audit_events'::regclass AND mode = 'RowExclusiveLock'"
        " AND pid IS DISTINCT FROM pg_backend_pid()"
    )
    return [row["virtualtransaction"] for row in rows]


async def running(transactions: list[str]) -> list[str]:
    """Those of ``transactions`` (virtual ids) that have not ended yet."""
    rows = await fetch(
        "SELECT DISTINCT virtualtransaction FROM pg_locks"
        " WHERE virtualtransaction = ANY($1::text[])",
        transactions,
    )
    return [row["virtualtransaction"] for row in rows]


async def between(after_id: int, through_id: int, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` events with ``after_id < id <= through_id``, in id order."""
    return await fetch(
        f"SELECT {_COLUMNS} FROM audit_events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
        after_id,
        through_id,
        limit,
    )


async def after_stats(after_id: int) -> asyncpg.Record:
    """How many events have an id above ``after_id``, and the oldest one's ``created_at``."""
    row = await fetch_one(
        "SELECT count(*) AS total, min(created_at) AS oldest FROM audit_events WHERE id > $1",
        after_id,
    )
    assert row is not None
    return row


async def first_unsealed_through(through_id: int) -> int | None:
    """The lowest id up to ``through_id`` that has no seal (none should)."""
    row = await fetch_one(
        "SELECT min(e.id) AS id FROM audit_events e WHERE e.id <= $1"
        " AND NOT EXISTS (SELECT FROM audit_seals s WHERE s.event_id = e.id)",
        through_id,
    )
    return None if row is None else row["id"]


async def delete_ids(ids: Sequence[int]) -> None:
    await fetch("DELETE FROM audit_events WHERE id = ANY($1::bigint[])", list(ids))
