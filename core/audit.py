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
from core.cursor import Position
from core.models import EVENT_TYPES, AuditEvent, EventType, Page
from core.queries import audit_events
from core.validation import (
    DEFAULT_PAGE_LIMIT,
    Order,
    check_limit,
    check_name,
    check_namespace,
    check_order,
    invalid,
)


async def record(
    secret_id: str,
    namespace: str,
    name: str,
    type: EventType,
    actor: str | None,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    await audit_events.insert(uuid.UUID(secret_id), namespace, name, type, actor, detail, now)


async def record_many(
    rows: Sequence[tuple[uuid.UUID, str, str]],
    type: EventType,
    actor: str | None,
    details: Sequence[str],
    now: datetime,
) -> None:
    """A batch's events in one statement: rows are (secret_id, namespace, name), details JSON."""
    if not rows:
        return
    await audit_events.insert_many(rows, type, actor, details, now)


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
    if namespace is not None:
        namespace = check_namespace(namespace)
    if name is not None:
        name = check_name(name)
    if type is not None and type not in EVENT_TYPES:
        raise invalid(f"type must be one of {', '.join(EVENT_TYPES)}")
    secret_key = (
        None if secret_id is None else _parse_uuid(secret_id, "secret_id is not a valid id")
    )
    rows = await audit_events.page(
        scope,
        namespace=namespace,
        name=name,
        type=type,
        secret_id=secret_key,
        order=order,
        cursor=cursor,
        limit=limit,
    )
    events = [_event(row) for row in rows[:limit]]
    last = Position(events[-1].created_at, events[-1].event_id) if events else None
    next_cursor = audit_events.EVENTS_KEYSET.next_cursor(order, len(rows), limit, last)
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
        seq=row["seq"],
    )


def _parse_uuid(text: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        raise invalid(message) from None
