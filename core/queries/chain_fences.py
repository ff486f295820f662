"""Every statement on the ``chain_fences`` table (docs/adr/0011).

A worker chain's link takes the next fence number of its kind when it starts,
and each of its batches passes the fence first thing in the batch's own
transaction: the batch goes on only while the number is still the link's. The
pass holds the row's lock until the batch commits, so a link that takes a new
number waits for a batch under way instead of overlapping it.
"""

from __future__ import annotations

from datetime import datetime

from core.db import fetch, fetch_one, in_transaction

_TAKE = (
    "INSERT INTO chain_fences (kind, fence, last_batch_at) VALUES ($1, 1, NULL)"
    " ON CONFLICT (kind) DO UPDATE SET fence = chain_fences.fence + 1"
    " RETURNING fence"
)

# One round trip: the update (a data-modifying CTE always runs) and the
# transaction's idle timeout. A worker paused in the middle of the batch would
# otherwise hold the fence row, and the rows it claimed, for as long as it is
# stopped; PostgreSQL ends its session after this long instead, rolling the
# batch back and letting the link that took over go on.
_CHECK_FENCE = (
    "WITH passed AS (UPDATE chain_fences SET last_batch_at = now()"
    " WHERE kind = $1 AND fence = $2 RETURNING fence)"
    " SELECT (SELECT count(*) FROM passed) AS passed,"
    " set_config('idle_in_transaction_session_timeout', $3, true) AS idle_timeout"
)


async def take(kind: str) -> int:
    """The next fence number of ``kind``, committed at once (never inside a transaction)."""
    if in_transaction():
        raise RuntimeError("a fence is taken in a transaction of its own")
    row = await fetch_one(_TAKE, kind)
    assert row is not None
    return int(row["fence"])


async def pass_fence(kind: str, fence: int, *, idle_timeout_ms: int) -> bool:
    """In the current transaction: whether ``fence`` is still the number of ``kind``.

    On ``True`` the row stays locked, and its ``last_batch_at`` set, until the
    transaction ends.
    """
    if not in_transaction():
        raise RuntimeError("the fence is passed inside the batch's transaction")
    row = await fetch_one(_CHECK_FENCE, kind, fence, f"{idle_timeout_ms}ms")
    return row is not None and row["passed"] == 1


async def last_batches() -> dict[str, datetime | None]:
    """When the last batch of each kind committed, for the kinds that ever ran."""
    rows = await fetch("SELECT kind, last_batch_at FROM chain_fences")
    return {row["kind"]: row["last_batch_at"] for row in rows}
