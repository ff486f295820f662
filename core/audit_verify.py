"""Verifying the audit chain (``GET /api/v1/audit/verify``), and its state for the dashboard.

:func:`verify` reads one consistent snapshot (a read-only, repeatable-read
transaction, so the sealer and the cleanup may run meanwhile) and walks the
seals in keyset pages by ``seq``, recomputing each link from its event's fields
and the link before, starting from the cleanup's checkpoint. It reports the
first seq where the chain breaks, with one of these kinds:

- ``changed``: the link does not match its event and the link before it (a
  field of the event was changed, two events were swapped, or a seal was forged);
- ``missing``: a seq without its seal, a seal whose event is gone, or seals cut
  from the newest end;
- ``inserted``: an event below the sealed frontier that has no seal (it was
  added after the fact), or a seal outside the range the head and the
  checkpoint vouch for;
- ``head``, ``checkpoint``: the head row or the checkpoint fails its own MAC;
- ``key_unavailable``: the KEK version that keyed this link is no longer
  configured, so the link cannot be checked (docs/adr/0012).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from core.audit_chain import (
    ChainKeys,
    checkpoint_mac,
    event_encoding,
    head_mac,
    link_of,
)
from core.db import transaction
from core.keys import KeyRing
from core.queries import audit_chain, audit_events, audit_seals

VERIFY_PAGE = 5000


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: str
    message: str


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    unsealed: int
    oldest_unsealed_ms: int | None
    problem: ChainProblem | None


async def verify(keyring: KeyRing, now: datetime, *, page: int = VERIFY_PAGE) -> ChainReport:
    """Check the whole chain; ``problem`` names its first break."""
    keys = ChainKeys(keyring)
    async with transaction():
        await audit_chain.freeze()
        head = await audit_chain.head()
        frontier = 0 if head is None else head["last_event_id"]
        stats = await audit_events.after_stats(frontier)
        unsealed = stats["total"]
        oldest = stats["oldest"]
        oldest_ms = None if oldest is None else max(0, round((now - oldest).total_seconds() * 1000))
        if head is None:
            return ChainReport(True, 0, None, None, unsealed, oldest_ms, None)
        walk = _Walk(keys, head)
        problem = _check_checkpoint(keys, head)
        if problem is None:
            problem = await walk.run(page)
        inserted = await _inserted_below_frontier(head)
        if inserted is not None and (problem is None or inserted.seq < problem.seq):
            problem = inserted
    return ChainReport(
        ok=problem is None,
        checked=walk.checked,
        first_seq=walk.first_seq,
        last_seq=head["last_seq"] if walk.first_seq is not None else None,
        unsealed=unsealed,
        oldest_unsealed_ms=oldest_ms,
        problem=problem,
    )


class _Walk:
    """The links from the checkpoint to the head, one page at a time."""

    def __init__(self, keys: ChainKeys, head: asyncpg.Record) -> None:
        self._keys = keys
        self._head = head
        self.checked = 0
        self.first_seq: int | None = None

    async def run(self, page: int) -> ChainProblem | None:
        head = self._head
        expected: int = head["checkpoint_seq"] + 1
        previous: bytes = head["checkpoint_link"]
        after = 0
        while True:
            rows = await audit_seals.page(after, page)
            for row in rows:
                if self.first_seq is None:
                    self.first_seq = row["seq"]
                problem = self._check(row, expected, previous)
                if problem is not None:
                    return problem
                self.checked += 1
                previous = row["link"]
                expected += 1
            if len(rows) < page:
                break
            after = rows[-1]["seq"]
        return self._check_head(expected - 1, previous)

    def _check(self, row: asyncpg.Record, expected: int, previous: bytes) -> ChainProblem | None:
        seq: int = row["seq"]
        if seq < expected:
            return ChainProblem(seq, "inserted", "a seal precedes the chain's checkpoint")
        if seq > expected:
            return ChainProblem(expected, "missing", "this seq has no seal: it was deleted")
        if seq > self._head["last_seq"]:
            return ChainProblem(seq, "inserted", "a seal lies beyond the chain's head")
        if row["id"] is None:
            return ChainProblem(seq, "missing", "the event sealed at this seq was deleted")
        version: int = row["key_version"]
        if not self._keys.has(version):
            return _key_unavailable(seq, version)
        key = self._keys.chain_key_material(version)
        if not hmac.compare_digest(
            link_of(key, seq, previous, event_encoding(row, version)), row["link"]
        ):
            return ChainProblem(
                seq, "changed", "the event does not match its link: it was changed or moved"
            )
        return None

    def _check_head(self, last_seen: int, last_link: bytes) -> ChainProblem | None:
        head = self._head
        last_seq: int = head["last_seq"]
        if last_seen < last_seq:
            return ChainProblem(last_seen + 1, "missing", "seals up to the head were deleted")
        if last_seq == 0 and head["last_event_id"] == 0 and head["head_mac"] is None:
            return None  # the empty chain, before its first seal
        if last_link != head["last_link"] or head["head_mac"] is None:
            return ChainProblem(last_seq, "head", "the chain's head does not match its last link")
        version: int = head["head_key_version"]
        if not self._keys.has(version):
            return _key_unavailable(last_seq, version)
        mac = head_mac(
            self._keys.chain_key_material(version), last_seq, head["last_event_id"], last_link
        )
        if not hmac.compare_digest(mac, head["head_mac"]):
            return ChainProblem(last_seq, "head", "the chain's head fails its MAC")
        return None


def _check_checkpoint(keys: ChainKeys, head: asyncpg.Record) -> ChainProblem | None:
    seq: int = head["checkpoint_seq"]
    if seq == 0 and head["checkpoint_mac"] is None:
        return None  # nothing removed yet
    version = head["checkpoint_key_version"]
    if head["checkpoint_mac"] is None or version is None:
        return ChainProblem(seq + 1, "checkpoint", "the checkpoint carries no MAC")
    if not keys.has(version):
        return _key_unavailable(seq + 1, version)
    mac = checkpoint_mac(keys.chain_key_material(version), seq, head["checkpoint_link"])
    if not hmac.compare_digest(mac, head["checkpoint_mac"]):
        return ChainProblem(seq + 1, "checkpoint", "the checkpoint fails its MAC")
    return None


async def _inserted_below_frontier(head: asyncpg.Record) -> ChainProblem | None:
    event_id = await audit_events.first_unsealed_through(head["last_event_id"])
    if event_id is None:
        return None
    seq = await audit_seals.first_after_event(event_id)
    return ChainProblem(
        seq if seq is not None else head["last_seq"] + 1,
        "inserted",
        "an event without a seal sits among sealed events: it was added afterwards",
    )


def _key_unavailable(seq: int, version: int) -> ChainProblem:
    return ChainProblem(
        seq,
        "key_unavailable",
        f"key version {version} keyed this link and is not configured: it cannot be checked",
    )
