"""Rotation and cleanup, one batch per call and one transaction per batch.

The worker chains these calls; each is safe to run concurrently with itself
because rows are claimed with ``FOR UPDATE SKIP LOCKED``: two batches never
touch the same row, and a batch killed half-way rolls back whole.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from core import audit, audit_chain
from core.crypto import InvalidCiphertext, Location, rewrap
from core.db import transaction
from core.keys import KeyRing
from core.lifecycle import RECOVERY_WINDOW_MS
from core.models import CleanupBatch, RotationBatch, RotationStatus
from core.queries import secret_rows, secret_versions
from core.validation import check_duration_ms, invalid

log = logging.getLogger("secretstore.maintenance")

SECRETS_RETENTION_MS = 30 * 24 * 3600 * 1000
EVENTS_RETENTION_MS = 180 * 24 * 3600 * 1000
MAX_BATCH = 10_000


def _check_batch(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH:
        raise invalid(f"batch size must be an integer from 1 to {MAX_BATCH}")
    return limit


def _rewrappable(keyring: KeyRing) -> tuple[list[int], list[bytes]]:
    """Configured versions below the active one, with the ids of their KEKs."""
    versions = [v for v in keyring.versions if v != keyring.active_version]
    return versions, [keyring.kek_id(v) for v in versions]


async def rotation_status(keyring: KeyRing) -> RotationStatus:
    versions, kek_ids = _rewrappable(keyring)
    rows = await secret_versions.key_version_counts(versions, kek_ids)
    counts = {row["key_version"]: row["total"] for row in rows}
    stale = sum(n for v, n in counts.items() if v in versions)
    orphans = sum(n for v, n in counts.items() if v not in keyring)
    return RotationStatus(
        active_version=keyring.active_version,
        configured_versions=keyring.versions,
        counts=counts,
        stale=stale,
        orphans=orphans,
        unrewrappable=sum(row["unrewrappable"] for row in rows),
    )


async def rotate_batch(
    keyring: KeyRing, now: datetime, limit: int = 100, actor: str | None = None
) -> RotationBatch:
    """Rewrap up to ``limit`` stale stored versions onto the active KEK.

    Every kept version has a DEK of its own, and every one is rewrapped,
    whatever its secret's state (active, expired, deleted): a retired KEK must
    not be the only key to anything still stored. One ``rotated`` event is
    recorded per secret and key version in the batch, not per stored version.
    The value ciphertext and ``updated_at`` stay as they are: a rewrap changes
    how the DEK is protected, not the secret, so listings and caches keyed on
    ``updated_at`` do not see a rotation as a write. Orphans are never claimed
    (their version is not in the claim's list), and a row its KEK fails to
    unwrap is marked with that KEK's id so later batches pass over it; neither
    can block the rewrappable rows behind them. The batch is done when it
    claimed fewer rows than it could.
    """
    _check_batch(limit)
    versions, kek_ids = _rewrappable(keyring)
    if not versions:
        return RotationBatch(rotated=0, skipped=0, is_done=True)
    active = keyring.active_version
    new_kek = keyring.kek_material(active)
    detail_for = {v: json.dumps({"from_version": v, "to_version": active}) for v in versions}
    async with transaction():
        rows = await secret_versions.claim_stale(versions, kek_ids, limit)
        rotated_ids, wrapped, nonces, events, details = [], [], [], [], []
        failed_ids, failed_keks = [], []
        recorded: set[tuple[object, int]] = set()
        for row in rows:
            version = row["key_version"]
            try:
                location = Location.stored(
                    row["namespace"],
                    row["name"],
                    row["secret_id"],
                    row["version"],
                    row["aad_layout"],
                )
                new_wrapped, new_nonce = rewrap(
                    wrapped_dek=row["wrapped_dek"],
                    dek_nonce=row["dek_nonce"],
                    location=location,
                    old_kek=keyring.kek_material(version),
                    old_version=version,
                    new_kek=new_kek,
                    new_version=active,
                )
            except InvalidCiphertext:
                failed_ids.append(row["id"])
                failed_keks.append(keyring.kek_id(version))
                continue
            rotated_ids.append(row["id"])
            wrapped.append(new_wrapped)
            nonces.append(new_nonce)
            if (row["secret_id"], version) not in recorded:
                recorded.add((row["secret_id"], version))
                events.append((row["secret_id"], row["namespace"], row["name"]))
                details.append(detail_for[version])
        if rotated_ids:
            await secret_versions.rewrap(rotated_ids, wrapped, nonces, active)
            await audit.record_many(events, "rotated", actor, details, now)
        if failed_ids:
            await secret_versions.mark_unrewrappable(failed_ids, failed_keks)
    if failed_ids:
        log.warning(
            "rotation skipped rows whose KEK did not unwrap them",
            extra={"skipped": len(failed_ids), "active_version": active},
        )
    return RotationBatch(
        rotated=len(rotated_ids), skipped=len(failed_ids), is_done=len(rows) < limit
    )


async def cleanup_secrets_batch(
    now: datetime,
    retention_ms: int | None,
    limit: int = 500,
    actor: str | None = None,
    recovery_window_ms: int = RECOVERY_WINDOW_MS,
) -> CleanupBatch:
    """Delete up to ``limit`` secrets whose expiry passed more than ``retention_ms`` ago,
    and purge up to ``limit`` deleted secrets whose recovery window has passed.

    The batch is done when each of the two claimed fewer rows than it could.
    """
    retention = SECRETS_RETENTION_MS if retention_ms is None else retention_ms
    check_duration_ms("retention_ms", retention)
    _check_batch(limit)
    cutoff = now - timedelta(milliseconds=retention)
    window_cutoff = now - timedelta(milliseconds=recovery_window_ms)
    async with transaction():
        rows = await secret_rows.delete_expired(cutoff, limit)
        reason = json.dumps({"reason": "expired_cleanup"})
        await audit.record_many(
            [(r["id"], r["namespace"], r["name"]) for r in rows],
            "deleted",
            actor,
            [reason] * len(rows),
            now,
        )
        purged = await secret_rows.purge_deleted(window_cutoff, limit)
        reason = json.dumps({"reason": "recovery_window_passed"})
        await audit.record_many(
            [(r["id"], r["namespace"], r["name"]) for r in purged],
            "purged",
            actor,
            [reason] * len(purged),
            now,
        )
    return CleanupBatch(
        deleted=len(rows),
        purged=len(purged),
        is_done=len(rows) < limit and len(purged) < limit,
    )


async def cleanup_events_batch(
    keyring: KeyRing, now: datetime, retention_ms: int | None, limit: int = 1000
) -> CleanupBatch:
    """Delete up to ``limit`` sealed audit events older than ``retention_ms``, oldest seq first.

    Only the oldest end of the audit chain goes, and it leaves a checkpoint,
    so what remains still verifies (``core.audit_chain.remove_oldest``).
    """
    retention = EVENTS_RETENTION_MS if retention_ms is None else retention_ms
    check_duration_ms("retention_ms", retention)
    _check_batch(limit)
    cutoff = now - timedelta(milliseconds=retention)
    removed = await audit_chain.remove_oldest(keyring, cutoff, limit)
    return CleanupBatch(deleted=removed.deleted, is_done=removed.is_done)
