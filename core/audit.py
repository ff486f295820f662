"""Audit events: appended in the transaction of the change they record, listed by keyset.

Events copy the secret's namespace and name and keep its id without a foreign
key, so they survive the deletion of their secret. They never hold a value.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import asyncpg

from core.access import EVERYTHING, NamespaceScope
from core.cursor import Keyset, Position
from core.db import fetch
from core.models import EVENT_TYPES, AuditEvent, EventType, Page
from core.sqlscope import scope_condition
from core.validation import (
    DEFAULT_PAGE_LIMIT,
    Order,
    check_limit,
    check_name,
    check_namespace,
    check_order,
    invalid,
)


def _event_row_id(text: str) -> int:
    # bigserial ids: decimal digits that fit in a bigint
    if not text.isdigit() or len(text) > 18:
        raise ValueError(text)
    return int(text)


_EVENTS_KEYSET = Keyset("events", "created_at", _event_row_id)


async def record(
    secret_id: str,
    namespace: str,
    name: str,
    type: EventType,
    actor: str | None,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    await fetch(
        "INSERT INTO audit_events (secret_id, namespace, name, type, actor, detail, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
        uuid.UUID(secret_id),
        namespace,
        name,
        type,
        actor,
        json.dumps(detail),
        now,
    )


async def record_many(
    rows: Sequence[tuple[uuid.UUID, str, str]],
    type: EventType,
    actor: str | None,
    details: Sequence[str],
    now: datetime,
) -> None:
    """One multi-row INSERT for a batch: rows are (secret_id, namespace, name), details JSON."""
    if not rows:
        return
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


async def list_events(
    *,
    scope: NamespaceScope = EVERYTHING,
    namespace: str | None = None,
    name: str | None = None,
    type: str | None = None,
    secret_id: str | None = None,
    limit: int = DEFAULT_PAGE_LIMIT,
    cursor: str | None = None,
    order: Order = "desc",
) -> Page[AuditEvent]:
    """Newest first by default; every filter is optional and they combine with AND."""
    check_limit(limit)
    check_order(order)
    args: list[Any] = []
    conditions = [scope_condition(scope, args)]
    if namespace is not None:
        args.append(check_namespace(namespace))
        conditions.append(f"namespace = ${len(args)}")
    if name is not None:
        args.append(check_name(name))
        conditions.append(f"name = ${len(args)}")
    if type is not None:
        if type not in EVENT_TYPES:
            raise invalid(f"type must be one of {', '.join(EVENT_TYPES)}")
        args.append(type)
        conditions.append(f"type = ${len(args)}")
    if secret_id is not None:
        args.append(_parse_uuid(secret_id, "secret_id is not a valid id"))
        conditions.append(f"secret_id = ${len(args)}")
    after = _EVENTS_KEYSET.after(order, cursor, args)
    if after is not None:
        conditions.append(after)
    rows = await fetch(
        "SELECT id, secret_id, namespace, name, type, actor, detail, created_at"
        f" FROM audit_events WHERE {' AND '.join(conditions)} "
        + _EVENTS_KEYSET.order_by(order, limit, args),
        *args,
    )
    events = [_event(row) for row in rows[:limit]]
    last = Position(events[-1].created_at, events[-1].event_id) if events else None
    next_cursor = _EVENTS_KEYSET.next_cursor(order, len(rows), limit, last)
    return Page(events, next_cursor)


def _event(row: asyncpg.Record) -> AuditEvent:
    return AuditEvent(
        event_id=str(row["id"]),
        secret_id=str(row["secret_id"]),
        namespace=row["namespace"],
        name=row["name"],
        type=cast(EventType, row["type"]),
        created_at=row["created_at"],
        actor=row["actor"],
        detail=json.loads(row["detail"]),
    )


def _parse_uuid(text: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        raise invalid(message) from None
