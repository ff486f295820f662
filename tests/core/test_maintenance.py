from __future__ import annotations

import asyncio

import pytest

from core.audit_chain import seal_batch
from core.db import DB, fetch
from core.errors import SecretStoreError
from core.store import SecretStore
from tests.core.conftest import FakeClock, MutableKeys
from tests.keys import KEY_1, KEY_2, KEY_3

NS = "acme"
DAY_MS = 24 * 3600 * 1000
# Every stored version with its secret's name and updated_at.
STORED = (
    "(SELECT s.name, s.namespace, s.updated_at, v.* FROM secrets s"
    " JOIN secret_versions v ON v.secret_id = s.id) AS secrets"
)


async def seed(store: SecretStore, count: int, prefix: str = "s") -> None:
    for i in range(count):
        await store.put(NS, f"{prefix}{i:04d}", f"value-{prefix}{i}")


async def make_orphans(count: int, version: int = 7) -> None:
    """Rows under a version that is not configured, with ids sorting first."""
    await fetch(
        "INSERT INTO secrets (id, namespace, name, created_at, updated_at, current_version)"
        " SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'orphans',"
        " 'o' || g, now(), now(), 1 FROM generate_series(1, $1) AS g",
        count,
    )
    await fetch(
        "INSERT INTO secret_versions (secret_id, version, ciphertext, value_nonce, wrapped_dek,"
        " dek_nonce, key_version, aad_layout, created_at)"
        " SELECT id, 1, '\\x00', '\\x00', '\\x00', '\\x00', $1, 2, now() FROM secrets"
        " WHERE namespace = 'orphans' AND NOT EXISTS"
        " (SELECT FROM secret_versions v WHERE v.secret_id = secrets.id)",
        version,
    )


async def test_status_counts_versions_stale_and_orphans(
    store: SecretStore, keys: MutableKeys
) -> None:
    await seed(store, 3)
    keys.set({1: KEY_1, 2: KEY_2})
    await seed(store, 2, prefix="new")
    await make_orphans(4)
    status = await store.rotation_status()
    assert status.active_version == 2
    assert status.configured_versions == (1, 2)
    assert status.counts == {1: 3, 2: 2, 7: 4}
    assert (status.stale, status.orphans, status.complete) == (3, 4, False)


async def test_rotation_rewraps_in_place_and_keeps_values_and_updated_at(
    store: SecretStore, keys: MutableKeys
) -> None:
    await seed(store, 5)
    before = {
        r["name"]: r
        for r in await fetch(
            "SELECT name, ciphertext, value_nonce, updated_at, wrapped_dek FROM " + STORED
        )
    }
    keys.set({1: KEY_1, 2: KEY_2})
    batch = await store.rotate_batch(limit=100, actor="tok")
    assert (batch.rotated, batch.skipped, batch.is_done) == (5, 0, True)
    after = {r["name"]: r for r in await fetch("SELECT * FROM " + STORED)}
    for name, row in after.items():
        assert row["key_version"] == 2
        assert row["ciphertext"] == before[name]["ciphertext"]
        assert row["value_nonce"] == before[name]["value_nonce"]
        assert row["updated_at"] == before[name]["updated_at"]
        assert row["wrapped_dek"] != before[name]["wrapped_dek"]
    rotated = (await store.list_events(type="rotated", limit=200)).items
    assert len(rotated) == 5
    assert {(e.detail["from_version"], e.detail["to_version"], e.actor) for e in rotated} == {
        (1, 2, "tok")
    }
    # the old KEK can now be retired: every row reads under the new one alone
    keys.set({2: KEY_2})
    assert (await store.get_or_raise(NS, "s0003")).value == "value-s3"
    assert (await store.rotation_status()).complete


async def test_rotation_batches_until_done(store: SecretStore, keys: MutableKeys) -> None:
    await seed(store, 25)
    keys.set({1: KEY_1, 2: KEY_2})
    results = []
    while True:
        batch = await store.rotate_batch(limit=10)
        results.append((batch.rotated, batch.is_done))
        if batch.is_done:
            break
    assert results == [(10, False), (10, False), (5, True)]


async def test_orphans_sorted_first_never_block_rewrappable_rows(
    store: SecretStore, keys: MutableKeys
) -> None:
    await make_orphans(150)
    await seed(store, 50)
    keys.set({1: KEY_1, 2: KEY_2})
    batch = await store.rotate_batch(limit=100)
    assert (batch.rotated, batch.is_done) == (50, True)
    status = await store.rotation_status()
    assert (status.stale, status.orphans, status.complete) == (0, 150, False)


async def test_rotation_stops_when_only_orphans_remain(
    store: SecretStore, keys: MutableKeys
) -> None:
    await make_orphans(300)
    keys.set({1: KEY_1, 2: KEY_2})
    batch = await store.rotate_batch(limit=100)
    assert (batch.rotated, batch.skipped, batch.is_done) == (0, 0, True)


async def test_rows_their_kek_no_longer_unwraps_are_skipped_once_and_counted(
    store: SecretStore, keys: MutableKeys
) -> None:
    await seed(store, 3)
    keys.set({1: KEY_1, 2: KEY_2})
    await seed(store, 2, prefix="v2-")
    # version 2's material replaced: its rows cannot be unwrapped any more
    keys.set({1: KEY_1, 2: KEY_3, 3: KEY_1})
    first = await store.rotate_batch(limit=100)
    assert (first.rotated, first.skipped, first.is_done) == (3, 2, True)
    second = await store.rotate_batch(limit=100)
    assert (second.rotated, second.skipped, second.is_done) == (0, 0, True)
    status = await store.rotation_status()
    assert (status.stale, status.unrewrappable, status.complete) == (2, 2, False)
    # the right material comes back: the skipped rows rotate
    keys.set({1: KEY_1, 2: KEY_2, 3: KEY_1})
    third = await store.rotate_batch(limit=100)
    assert (third.rotated, third.skipped) == (2, 0)
    assert (await store.rotation_status()).complete


async def test_concurrent_batches_never_rewrap_the_same_row(
    store: SecretStore, keys: MutableKeys
) -> None:
    await seed(store, 120)
    keys.set({1: KEY_1, 2: KEY_2})

    async def drain() -> int:
        total = 0
        while True:
            batch = await store.rotate_batch(limit=7)
            total += batch.rotated
            if batch.is_done:
                return total

    totals = await asyncio.gather(drain(), drain(), drain())
    assert sum(totals) == 120
    rows = await fetch(
        "SELECT secret_id, count(*) AS n FROM audit_events WHERE type = 'rotated' GROUP BY 1"
    )
    assert len(rows) == 120 and {r["n"] for r in rows} == {1}


async def test_a_failed_batch_rolls_back_whole(store: SecretStore, keys: MutableKeys) -> None:
    await seed(store, 10)
    keys.set({1: KEY_1, 2: KEY_2})
    with pytest.raises(RuntimeError):
        async with DB.transaction():
            await store.rotate_batch(limit=100)
            raise RuntimeError("killed mid-batch")
    status = await store.rotation_status()
    assert status.stale == 10
    assert (await store.list_events(type="rotated")).items == []


async def test_nothing_to_rotate_with_one_version(store: SecretStore) -> None:
    await seed(store, 2)
    batch = await store.rotate_batch()
    assert (batch.rotated, batch.is_done) == (0, True)
    assert (await store.rotation_status()).complete


async def test_secret_cleanup_honours_retention(store: SecretStore, clock: FakeClock) -> None:
    await store.put(NS, "old", "v", ttl_ms=1000)
    await store.put(NS, "recent", "v", ttl_ms=20 * DAY_MS)
    await store.put(NS, "forever", "v", ttl_ms=None)
    clock.advance(days=31)
    batch = await store.cleanup_secrets_batch(actor="tok")
    assert (batch.deleted, batch.is_done) == (1, True)
    names = [i.info.name for i in (await store.list(NS)).items]
    assert sorted(names) == ["forever", "recent"]
    deleted = (await store.list_events(type="deleted")).items
    assert [(e.name, e.detail, e.actor) for e in deleted] == [
        ("old", {"reason": "expired_cleanup"}, "tok")
    ]
    clock.advance(days=365 * 10)
    await store.cleanup_secrets_batch()
    assert [i.info.name for i in (await store.list(NS)).items] == ["forever"]


async def test_secret_cleanup_boundary_and_custom_retention(
    store: SecretStore, clock: FakeClock
) -> None:
    await store.put(NS, "k", "v", ttl_ms=1000)
    clock.advance(seconds=1)  # now == expires_at
    assert (await store.cleanup_secrets_batch(retention_ms=1000)).deleted == 0
    clock.advance(seconds=1, milliseconds=1)
    assert (await store.cleanup_secrets_batch(retention_ms=1000)).deleted == 1


async def test_secret_cleanup_runs_in_batches(store: SecretStore, clock: FakeClock) -> None:
    for i in range(12):
        await store.put(NS, f"e{i}", "v", ttl_ms=1)
    clock.advance(days=40)
    done = []
    while True:
        batch = await store.cleanup_secrets_batch(limit=5)
        done.append(batch.deleted)
        if batch.is_done:
            break
    assert done == [5, 5, 2]


async def test_event_cleanup_honours_retention(store: SecretStore, clock: FakeClock) -> None:
    await store.put(NS, "k", "v")
    clock.advance(days=100)
    await store.put(NS, "k", "v2")
    clock.advance(days=81)
    await seal_batch(store.keyring(), clock())
    batch = await store.cleanup_events_batch()
    assert (batch.deleted, batch.is_done) == (1, True)
    assert [e.type for e in (await store.list_events()).items] == ["updated"]
    assert (await store.cleanup_events_batch(retention_ms=81 * DAY_MS + 1)).deleted == 0
    assert (await store.cleanup_events_batch(retention_ms=DAY_MS)).deleted == 1


@pytest.mark.parametrize("retention", [0, -1, 1.5, True])
async def test_retention_must_be_positive(store: SecretStore, retention: object) -> None:
    for call in (
        store.cleanup_secrets_batch(retention_ms=retention),  # type: ignore[arg-type]
        store.cleanup_events_batch(retention_ms=retention),  # type: ignore[arg-type]
    ):
        with pytest.raises(SecretStoreError) as error:
            await call
        assert error.value.code == "invalid_argument"


async def test_bad_key_configuration_is_invalid_keys(db: str, clock: FakeClock) -> None:
    from core.keys import KeyRingSource

    source = KeyRingSource({"SECRET_STORE_KEYS": "1:not-base64"})
    store: SecretStore = SecretStore(source.current, clock=clock)
    for call in (store.put(NS, "k", "v"), store.get(NS, "k"), store.rotate_batch()):
        with pytest.raises(SecretStoreError) as error:
            await call
        assert error.value.code == "invalid_keys"


async def test_cleanup_purges_deleted_secrets_once_their_window_passed(
    keys: MutableKeys, clock: FakeClock, db: str
) -> None:
    store: SecretStore = SecretStore(keys, clock=clock, recovery_window_ms=DAY_MS)
    await seed(store, 3)
    await store.remove(NS, "s0000")
    clock.advance(hours=12)
    await store.remove(NS, "s0001")
    clock.advance(hours=13)
    batch = await store.cleanup_secrets_batch(limit=10, actor="cleaner")
    assert (batch.deleted, batch.purged, batch.is_done) == (0, 1, True)
    assert [v.version for v in (await store.versions(NS, "s0001")).items] == [1]
    with pytest.raises(SecretStoreError) as error:
        await store.versions(NS, "s0000")
    assert error.value.code == "not_found"
    purged = (await store.list_events(type="purged")).items
    assert [(e.name, e.detail, e.actor) for e in purged] == [
        ("s0000", {"reason": "recovery_window_passed"}, "cleaner")
    ]


async def test_rotation_rewraps_every_kept_version_of_every_state(
    store: SecretStore, keys: MutableKeys, clock: FakeClock
) -> None:
    for i in range(5):
        await store.put(NS, "many", f"v{i}")
    await store.put(NS, "gone", "x")
    await store.remove(NS, "gone")
    await store.put(NS, "old", "y", ttl_ms=1)
    clock.advance(seconds=1)
    keys.set({1: KEY_1, 2: KEY_2})
    status = await store.rotation_status()
    assert (status.stale, status.counts) == (7, {1: 7})
    batch = await store.rotate_batch(limit=100)
    assert (batch.rotated, batch.is_done) == (7, True)
    assert (await store.rotation_status()).complete
    keys.set({2: KEY_2})
    for version in range(1, 6):
        assert (await store.get_or_raise(NS, "many", version=version)).value == f"v{version - 1}"
    await store.restore(NS, "gone")
    assert (await store.get_or_raise(NS, "gone")).value == "x"
    rotated = (await store.list_events(type="rotated")).items
    assert sorted(e.name for e in rotated) == ["gone", "many", "old"]
