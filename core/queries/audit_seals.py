"""Every statement on the ``audit_seals`` table: each sealed event's seq, link and key version.

The verifier reads seals in keyset pages by ``seq`` (the unique constraint's
index), each with its event, so a chain of any length streams through in
bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from core.db import fetch, fetch_one

_EVENT_COLUMNS = "e.id, e.secret_id, e.namespace, e.name, e.type, e.actor, e.detail, e.created_at"


async def insert_many(
    event_ids: Sequence[int], seqs: Sequence[int], links: Sequence[bytes], key_version: int
) -> None:
    await fetch(
        "INSERT INTO audit_seals (event_id, seq, link, key_version)"
        " SELECT s.event_id, s.seq, s.link, $4"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) AS s(event_id, seq, link)",
        list(event_ids),
        list(seqs),
        list(links),
        key_version,
    )


async def page(after_seq: int, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` seals after ``after_seq`` in seq order, each with its event's
    columns (``id`` null when the event is gone)."""
    return await fetch(
        f"SELECT s.seq, s.event_id, s.link, s.key_version, {_EVENT_COLUMNS}"
        " FROM audit_seals s LEFT JOIN audit_events e ON e.id = s.event_id"
        " WHERE s.seq > $1 ORDER BY s.seq LIMIT $2",
        after_seq,
        limit,
    )


async def oldest(limit: int) -> list[asyncpg.Record]:
    """The ``limit`` lowest seals, each with its event's ``created_at`` (null when gone)."""
    return await fetch(
        "SELECT s.seq, s.event_id, s.link, s.key_version, e.created_at"
        " FROM audit_seals s LEFT JOIN audit_events e ON e.id = s.event_id"
        " ORDER BY s.seq LIMIT $1",
        limit,
    )


async def delete_through(seq: int) -> None:
    await fetch("DELETE FROM audit_seals WHERE seq <= $1", seq)


async def first_after_event(event_id: int) -> int | None:
    """The seq of the first seal whose event id is above ``event_id``."""
    row = await fetch_one("SELECT min(seq) AS seq FROM audit_seals WHERE event_id > $1", event_id)
    return None if row is None else row["seq"]
