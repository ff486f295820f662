"""Every statement on the ``audit_chain`` table: its one head row (``id`` 1).

Every batch that changes the chain (a seal, an events cleanup) starts by
locking this row, so two of them never interleave; the writes of events never
touch it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from core.db import fetch, fetch_one

HEAD_ID = 1

_COLUMNS = (
    "last_seq, last_event_id, last_link, head_key_version, head_mac,"
    " checkpoint_seq, checkpoint_link, checkpoint_key_version, checkpoint_mac, sealed_at"
)


async def lock_head() -> asyncpg.Record:
    """The head row, locked until the transaction ends; created empty the first time."""
    await fetch(
        "INSERT INTO audit_chain (id, last_seq, last_event_id, last_link, checkpoint_seq,"
        " checkpoint_link) VALUES ($1, 0, 0, ''::bytea, 0, ''::bytea) ON CONFLICT (id) DO NOTHING",
        HEAD_ID,
    )
    row = await fetch_one(f"SELECT {_COLUMNS} FROM audit_chain WHERE id = $1 FOR UPDATE", HEAD_ID)
    assert row is not None
    return row


async def head() -> asyncpg.Record | None:
    """The head row as the current transaction sees it, ``None`` before the first seal."""
    return await fetch_one(f"SELECT {_COLUMNS} FROM audit_chain WHERE id = $1", HEAD_ID)


async def advance(
    last_seq: int,
    last_event_id: int,
    last_link: bytes,
    key_version: int,
    head_mac: bytes,
    sealed_at: datetime,
) -> None:
    await fetch(
        "UPDATE audit_chain SET last_seq = $2, last_event_id = $3, last_link = $4,"
        " head_key_version = $5, head_mac = $6, sealed_at = $7 WHERE id = $1",
        HEAD_ID,
        last_seq,
        last_event_id,
        last_link,
        key_version,
        head_mac,
        sealed_at,
    )


async def checkpoint(seq: int, link: bytes, key_version: int, mac: bytes) -> None:
    await fetch(
        "UPDATE audit_chain SET checkpoint_seq = $2, checkpoint_link = $3,"
        " checkpoint_key_version = $4, checkpoint_mac = $5 WHERE id = $1",
        HEAD_ID,
        seq,
        link,
        key_version,
        mac,
    )


async def freeze() -> None:
    """Make the current transaction one read-only snapshot (its first statement)."""
    await fetch("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


async def has_unsealed() -> bool:
    """Whether any event lies beyond the sealed frontier."""
    row = await fetch_one(
        "SELECT EXISTS (SELECT FROM audit_events WHERE id > coalesce("
        "(SELECT last_event_id FROM audit_chain WHERE id = $1), 0)) AS waiting",
        HEAD_ID,
    )
    return bool(row is not None and row["waiting"])
