"""The audit chain: sealing audit events, in commit order, into one keyed hash chain.

Default path: the worker's seal chain calls :func:`seal_batch` again and again;
``core.audit_verify.verify`` checks the chain; the events cleanup calls
:func:`remove_oldest`, which leaves a checkpoint. Events themselves are written
as before, in the transaction of their change: sealing happens afterwards and
adds no lock to that path.

A link is ``HMAC-SHA256(chain key, frame("link", seq, previous link, event))``
where ``event`` is the event's fields as JSON with sorted keys (id, secret id,
namespace, name, type, actor, detail, created_at in UTC with microseconds, and
the key version) and ``frame`` prefixes every part with its length, so no two
different inputs encode alike. The chain key is HKDF-SHA256 of a KEK with the
label ``secret-store audit-chain v1``; the database holds neither. Each seal
records the KEK version its key came from, and a batch seals under the active
version, so a new KEK takes over for new links while old links verify under
the version they name for as long as it stays configured (docs/adr/0012).

Commit order: ids are drawn from a sequence when a row is inserted, not when
its transaction commits, so a transaction still running may hold an id below
ids already committed. :func:`committed_frontier` reads the highest id drawn so
far, then waits until every transaction that held the table's write lock at
that moment has ended: after that, every id up to the frontier is committed or
gone for good, and the batch seals them in id order. An event that commits
later always has a higher id than the frontier, so nothing is sealed out of
order and nothing below the frontier is ever left behind.

Caveats: anyone who can write to the database can still add events before
they are sealed, or remove the newest seals together with the head if they
kept an older copy of the head row; the newest ``last_seq`` the sealer logs
is the outside record that catches the latter.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.db import transaction
from core.keys import KeyRing
from core.queries import audit_chain, audit_events, audit_seals

_CHAIN_KEY_LABEL = b"secret-store audit-chain v1"
# How often the frontier's wait looks at the lock table again.
_WRITERS_POLL_S = 0.02


@dataclass(frozen=True)
class SealBatch:
    sealed: int
    last_seq: int
    # True when everything committed up to the frontier is sealed.
    is_done: bool


@dataclass(frozen=True)
class EventsRemoved:
    deleted: int
    is_done: bool


class ChainKeys:
    """The chain keys of one key ring, derived once per version (calls touch key material)."""

    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring
        self._keys: dict[int, bytes] = {}

    @property
    def active_version(self) -> int:
        return self._keyring.active_version

    def has(self, version: int) -> bool:
        return version in self._keyring

    def chain_key_material(self, version: int) -> bytes:
        key = self._keys.get(version)
        if key is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CHAIN_KEY_LABEL)
            key = hkdf.derive(self._keyring.kek_material(version))
            self._keys[version] = key
        return key


def _frame(*parts: bytes) -> bytes:
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _int(number: int) -> bytes:
    return number.to_bytes(8, "big", signed=True)


def event_encoding(event: asyncpg.Record, key_version: int) -> bytes:
    """The canonical bytes of an event row (``detail`` as the JSON text the driver returns)."""
    created_at: datetime = event["created_at"]
    fields = {
        "event_id": event["id"],
        "secret_id": str(event["secret_id"]),
        "namespace": event["namespace"],
        "name": event["name"],
        "type": event["type"],
        "actor": event["actor"],
        "detail": json.loads(event["detail"]),
        "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "key_version": key_version,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_of(key: bytes, seq: int, previous: bytes, encoded_event: bytes) -> bytes:
    message = _frame(b"link", _int(seq), previous, encoded_event)
    return hmac.new(key, message, hashlib.sha256).digest()


def head_mac(key: bytes, last_seq: int, last_event_id: int, last_link: bytes) -> bytes:
    message = _frame(b"head", _int(last_seq), _int(last_event_id), last_link)
    return hmac.new(key, message, hashlib.sha256).digest()


def checkpoint_mac(key: bytes, seq: int, link: bytes) -> bytes:
    return hmac.new(key, _frame(b"checkpoint", _int(seq), link), hashlib.sha256).digest()


async def committed_frontier(wait_s: float) -> int | None:
    """The highest event id up to which every event is committed or rolled back.

    0 before any id was drawn; ``None`` when a writer of that moment was still
    running after ``wait_s`` (a long transaction holds sealing back).
    """
    drawn = await audit_events.last_assigned_id()
    if drawn is None:
        return 0
    # Read after the id: any transaction that drew an id up to ``drawn`` holds
    # the table's write lock already, so it is listed here.
    pending = await audit_events.writers()
    deadline = time.monotonic() + wait_s
    while pending:
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(_WRITERS_POLL_S)
        pending = await audit_events.running(pending)
    return drawn


async def seal_batch(
    keyring: KeyRing, now: datetime, limit: int = 1000, *, wait_s: float = 1.0
) -> SealBatch:
    """Seal up to ``limit`` committed events, in id order, onto the chain.

    One transaction, which starts by locking the chain's head row: two sealers
    (or a sealer and the events cleanup) take turns, and a batch killed half
    way rolls back whole, so no event is sealed twice or skipped.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")
    frontier = await committed_frontier(wait_s)
    keys = ChainKeys(keyring)
    version = keys.active_version
    async with transaction():
        head = await audit_chain.lock_head()
        last_seq: int = head["last_seq"]
        last_event_id: int = head["last_event_id"]
        if frontier is None or frontier <= last_event_id:
            return SealBatch(sealed=0, last_seq=last_seq, is_done=frontier is not None)
        rows = await audit_events.between(last_event_id, frontier, limit)
        key = keys.chain_key_material(version)
        link: bytes = head["last_link"]
        event_ids, seqs, links = [], [], []
        for row in rows:
            last_seq += 1
            link = link_of(key, last_seq, link, event_encoding(row, version))
            event_ids.append(row["id"])
            seqs.append(last_seq)
            links.append(link)
        if rows:
            await audit_seals.insert_many(event_ids, seqs, links, version)
        # A full batch may have stopped short of the frontier; otherwise the
        # ids between the last event and the frontier were rolled back.
        is_done = len(rows) < limit
        last_event_id = frontier if is_done else event_ids[-1]
        await audit_chain.advance(
            last_seq,
            last_event_id,
            link,
            version,
            head_mac(key, last_seq, last_event_id, link),
            now,
        )
    return SealBatch(sealed=len(rows), last_seq=last_seq, is_done=is_done)


async def remove_oldest(keyring: KeyRing, cutoff: datetime, limit: int) -> EventsRemoved:
    """Delete up to ``limit`` of the oldest sealed events, all created before ``cutoff``.

    Only from the chain's oldest end, in seq order, stopping at the first event
    that is not old enough (or is missing): the checkpoint then names the last
    removed link, under a MAC of its own, and the rest still verifies from it.
    Unsealed events are never removed.
    """
    keys = ChainKeys(keyring)
    async with transaction():
        await audit_chain.lock_head()
        seals = await audit_seals.oldest(limit)
        removable = []
        for seal in seals:
            if seal["created_at"] is None or seal["created_at"] >= cutoff:
                break
            removable.append(seal)
        if removable:
            last = removable[-1]
            await audit_events.delete_ids([seal["event_id"] for seal in removable])
            await audit_seals.delete_through(last["seq"])
            version = keys.active_version
            key = keys.chain_key_material(version)
            await audit_chain.checkpoint(
                last["seq"], last["link"], version, checkpoint_mac(key, last["seq"], last["link"])
            )
    return EventsRemoved(deleted=len(removable), is_done=len(removable) < limit)


async def has_unsealed() -> bool:
    """Whether events wait to be sealed (one indexed query: the seal watch's check)."""
    return await audit_chain.has_unsealed()
