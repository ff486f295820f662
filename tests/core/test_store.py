from __future__ import annotations

import asyncio
import contextvars

import pytest

from core.db import fetch, transaction
from core.errors import SecretStoreError
from core.models import Found, Missing
from core.store import SecretStore
from tests.core.conftest import FakeClock, MutableKeys
from tests.keys import KEY_1, KEY_2

NS = "acme:production"


async def events(store: SecretStore, **filters):
    page = await store.list_events(limit=200, order="asc", **filters)
    return page.items


async def test_put_creates_then_replaces(store: SecretStore) -> None:
    first = await store.put(NS, "API_KEY", "v1", actor="tok-1")
    second = await store.put(NS, "API_KEY", "v2", actor="tok-2")
    assert first.is_new and not second.is_new
    assert first.info.secret_id == second.info.secret_id
    assert second.info.created_at == first.info.created_at
    assert (await store.get_or_raise(NS, "API_KEY")).value == "v2"
    recorded = await events(store)
    assert [(e.type, e.actor) for e in recorded] == [("created", "tok-1"), ("updated", "tok-2")]
    assert recorded[1].detail == {"changed": ["value"], "version": 2}


async def test_empty_value_and_unicode_round_trip(store: SecretStore) -> None:
    await store.put(NS, "empty", "")
    await store.put(NS, "ünï cödé ✓", "päss 🔑")
    assert (await store.get_or_raise(NS, "empty")).value == ""
    assert (await store.get_or_raise(NS, "ünï cödé ✓")).value == "päss 🔑"


async def test_value_limit_is_counted_in_utf8_bytes(store: SecretStore) -> None:
    await store.put(NS, "at-limit", "a" * 65_536)
    with pytest.raises(SecretStoreError) as error:
        # 21,846 three-byte characters are 65,538 bytes but only 21,846 characters
        await store.put(NS, "over", "€" * 21_846)
    assert error.value.code == "value_too_large"
    assert (await store.get(NS, "over")) == Missing("not_found")


async def test_overwrite_without_metadata_keeps_it_and_null_clears_it(store: SecretStore) -> None:
    await store.put(NS, "k", "v", metadata={"owner": "team-a"})
    await store.put(NS, "k", "v2")
    assert (await store.get_or_raise(NS, "k")).info.metadata == {"owner": "team-a"}
    await store.put(NS, "k", "v3", metadata=None)
    assert (await store.get_or_raise(NS, "k")).info.metadata is None
    await store.put(NS, "k", "v4", metadata={"owner": "team-b", "n": 1})
    await store.put(NS, "k", "v5", metadata={"n": 1.0, "owner": "team-b"})  # the same, reordered
    changed = [e.detail.get("changed") for e in await events(store)]
    assert changed == [
        None,
        ["value"],
        ["value", "metadata"],
        ["value", "metadata"],
        ["value"],
    ]


async def test_overwrite_without_ttl_uses_default_and_null_never_expires(
    db: str, keys: MutableKeys, clock: FakeClock
) -> None:
    store: SecretStore = SecretStore(keys, clock=clock, default_ttl_ms=60_000)
    created = await store.put(NS, "k", "v")
    assert created.info.expires_at == clock.now.replace() + __import__("datetime").timedelta(
        seconds=60
    )
    forever = await store.put(NS, "k", "v", ttl_ms=None)
    assert forever.info.expires_at is None
    again = await store.put(NS, "k", "v")
    assert again.info.expires_at is not None


async def test_overwrite_without_ttl_clears_expiry_when_no_default(
    store: SecretStore, clock: FakeClock
) -> None:
    await store.put(NS, "k", "v", ttl_ms=1000)
    replaced = await store.put(NS, "k", "v2")
    assert replaced.info.expires_at is None
    assert (await events(store))[-1].detail == {"changed": ["value", "ttl"], "version": 2}


async def test_expired_once_now_reaches_expires_at(store: SecretStore, clock: FakeClock) -> None:
    await store.put(NS, "k", "v", ttl_ms=1000)
    clock.advance(milliseconds=999)
    assert isinstance(await store.get(NS, "k"), Found)
    clock.advance(milliseconds=1)
    assert await store.get(NS, "k") == Missing("expired")
    with pytest.raises(SecretStoreError) as error:
        await store.get_or_raise(NS, "k")
    assert error.value.code == "expired"
    page = await store.list(NS)
    assert [item.state for item in page.items] == ["expired"]


async def test_expired_secret_can_be_overwritten_updated_and_removed(
    store: SecretStore, clock: FakeClock
) -> None:
    await store.put(NS, "k", "v", ttl_ms=10)
    clock.advance(seconds=1)
    await store.update(NS, "k", ttl_ms=None)
    assert (await store.get_or_raise(NS, "k")).value == "v"
    await store.update(NS, "k", ttl_ms=5)
    clock.advance(seconds=1)
    assert (await store.put(NS, "k", "new")).is_new is False
    assert (await store.get_or_raise(NS, "k")).value == "new"
    assert (await store.remove(NS, "k")).removed is True


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("", "k"),
        ("-lead", "k"),
        ("has space", "k"),
        ("x" * 129, "k"),
        (NS, ""),
        (NS, "a/b"),
        (NS, " lead"),
        (NS, "trail "),
        (NS, "ctl\x00"),
        (NS, "ctl\x1b"),
        (NS, "lone \udc80 surrogate"),
        (NS, "n" * 257),
    ],
)
async def test_bad_names_are_invalid_argument(
    store: SecretStore, namespace: str, name: str
) -> None:
    for call in (
        store.put(namespace, name, "v"),
        store.get(namespace, name),
        store.update(namespace, name, ttl_ms=5),
        store.remove(namespace, name),
    ):
        with pytest.raises(SecretStoreError) as error:
            await call
        assert error.value.code == "invalid_argument"
    assert (await store.list_events()).items == []


@pytest.mark.parametrize("ttl", [0, -1, 1.5, True, "10"])
async def test_bad_ttl_is_invalid_argument(store: SecretStore, ttl: object) -> None:
    with pytest.raises(SecretStoreError) as error:
        await store.put(NS, "k", "v", ttl_ms=ttl)  # type: ignore[arg-type]
    assert error.value.code == "invalid_argument"


async def test_update_validates_arguments_before_the_lookup(store: SecretStore) -> None:
    with pytest.raises(SecretStoreError) as error:
        await store.update(NS, "missing", ttl_ms=0)
    assert error.value.code == "invalid_argument"
    with pytest.raises(SecretStoreError) as error:
        await store.update(NS, "missing")
    assert error.value.code == "invalid_argument"
    with pytest.raises(SecretStoreError) as error:
        await store.update(NS, "missing", ttl_ms=5)
    assert error.value.code == "not_found"


async def test_metadata_must_be_a_small_json_object(store: SecretStore) -> None:
    for bad in (["list"], "text", {"big": "x" * 9000}, {"nan": float("nan")}):
        with pytest.raises(SecretStoreError) as error:
            await store.put(NS, "k", "v", metadata=bad)  # type: ignore[arg-type]
        assert error.value.code == "invalid_argument"
    assert await store.get(NS, "k") == Missing("not_found")


async def test_update_changes_metadata_and_expiry_without_reencrypting(
    store: SecretStore, clock: FakeClock
) -> None:
    await store.put(NS, "k", "v", metadata={"a": 1})
    before = await fetch("SELECT ciphertext, wrapped_dek FROM secret_versions")
    clock.advance(seconds=1)
    info = await store.update(NS, "k", metadata={"b": 2}, ttl_ms=60_000)
    after = await fetch("SELECT ciphertext, wrapped_dek FROM secret_versions")
    assert before == after
    assert info.metadata == {"b": 2} and info.expires_at is not None
    assert info.updated_at == clock.now
    info = await store.update(NS, "k", ttl_ms=None)
    assert info.expires_at is None and info.metadata == {"b": 2}
    info = await store.update(NS, "k", metadata=None)
    assert info.metadata is None
    details = [e.detail for e in await events(store, type="updated")]
    assert details == [
        {"changed": ["metadata", "ttl"]},
        {"changed": ["ttl"]},
        {"changed": ["metadata"]},
    ]


async def test_update_that_changes_nothing_records_an_empty_change(store: SecretStore) -> None:
    await store.put(NS, "k", "v", metadata={"a": 1}, ttl_ms=None)
    await store.update(NS, "k", metadata={"a": 1.0}, ttl_ms=None, actor="tok")
    updated = await events(store, type="updated")
    assert [(e.detail, e.actor) for e in updated] == [({"changed": []}, "tok")]


async def test_update_of_a_missing_secret_is_not_found_and_records_nothing(
    store: SecretStore,
) -> None:
    with pytest.raises(SecretStoreError) as error:
        await store.update(NS, "nope", metadata={"a": 1})
    assert error.value.code == "not_found"
    assert await events(store) == []


async def test_concurrent_updates_compare_with_the_write_before_them(
    store: SecretStore,
) -> None:
    await store.put(NS, "k", "v", ttl_ms=None)
    await asyncio.gather(*(store.update(NS, "k", metadata={"n": 1}) for _ in range(20)))
    changed = sorted(e.detail["changed"] for e in await events(store, type="updated"))
    # Only the first to take the row lock changed anything.
    assert changed == [[]] * 19 + [["metadata"]]


async def test_remove_reports_whether_something_was_removed(store: SecretStore) -> None:
    created = await store.put(NS, "k", "v")
    assert (await store.remove(NS, "k", actor="tok")).removed is True
    assert (await store.remove(NS, "k")).removed is False
    deleted = await events(store, type="deleted")
    assert [(e.secret_id, e.detail, e.actor) for e in deleted] == [
        (created.info.secret_id, {"reason": "removed"}, "tok")
    ]
    # events survive the deletion of their secret
    assert len(await events(store, secret_id=created.info.secret_id)) == 2


async def test_missing_and_retired_key_results(store: SecretStore, keys: MutableKeys) -> None:
    assert await store.get(NS, "nope") == Missing("not_found")
    await store.put(NS, "k", "v")
    keys.set({2: KEY_2})
    assert await store.get(NS, "k") == Missing("key_unavailable")
    with pytest.raises(SecretStoreError) as error:
        await store.get_or_raise(NS, "k")
    assert error.value.code == "key_unavailable"


async def test_replaced_kek_material_is_decryption_failed(
    store: SecretStore, keys: MutableKeys
) -> None:
    await store.put(NS, "k", "v")
    keys.set({1: KEY_2})
    with pytest.raises(SecretStoreError) as error:
        await store.get(NS, "k")
    assert error.value.code == "decryption_failed"
    assert "v" not in error.value.message.split()


@pytest.mark.parametrize("column", ["ciphertext", "value_nonce", "wrapped_dek", "dek_nonce"])
async def test_tampered_stored_field_is_decryption_failed(store: SecretStore, column: str) -> None:
    await store.put(NS, "k", "the value")
    await fetch(
        f"UPDATE secret_versions SET {column} = overlay({column} placing"
        f" decode(lpad(to_hex(get_byte({column}, 0) # 1), 2, '0'), 'hex') from 1 for 1)"
    )
    with pytest.raises(SecretStoreError) as error:
        await store.get(NS, "k")
    assert error.value.code == "decryption_failed"


async def test_ciphertext_moved_to_another_row_does_not_decrypt(store: SecretStore) -> None:
    await store.put(NS, "victim", "victim-value")
    await store.put(NS, "attacker", "attacker-value")
    await fetch(
        "UPDATE secret_versions AS a SET ciphertext = v.ciphertext, value_nonce = v.value_nonce,"
        " wrapped_dek = v.wrapped_dek, dek_nonce = v.dek_nonce"
        " FROM secret_versions AS v, secrets AS sa, secrets AS sv"
        " WHERE a.secret_id = sa.id AND v.secret_id = sv.id"
        " AND sa.name = 'attacker' AND sv.name = 'victim'"
    )
    with pytest.raises(SecretStoreError) as error:
        await store.get(NS, "attacker")
    assert error.value.code == "decryption_failed"


async def test_relabelled_key_version_does_not_decrypt(
    store: SecretStore, keys: MutableKeys
) -> None:
    keys.set({1: KEY_1, 2: KEY_1})
    await store.put(NS, "k", "v")
    await fetch("UPDATE secret_versions SET key_version = 1")
    with pytest.raises(SecretStoreError) as error:
        await store.get(NS, "k")
    assert error.value.code == "decryption_failed"


async def test_fifty_concurrent_puts_of_one_new_name(store: SecretStore) -> None:
    results = await asyncio.gather(*(store.put(NS, "race", f"v{i}") for i in range(50)))
    assert sum(r.is_new for r in results) == 1
    assert (await fetch("SELECT count(*) AS n FROM secrets"))[0]["n"] == 1
    recorded = await events(store)
    assert sorted(e.type for e in recorded).count("created") == 1
    assert sorted(e.type for e in recorded).count("updated") == 49


async def test_listing_pages_in_both_orders_without_values(
    store: SecretStore, clock: FakeClock
) -> None:
    for i in range(7):
        clock.advance(milliseconds=1)
        await store.put(NS, f"s{i}", f"value-{i}")
    await store.put("other", "s0", "x")
    names = []
    cursor = None
    while True:
        page = await store.list(NS, limit=3, cursor=cursor)
        names += [item.info.name for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert names == [f"s{i}" for i in reversed(range(7))]
    ascending = await store.list(NS, limit=200, order="asc")
    assert [item.info.name for item in ascending.items] == [f"s{i}" for i in range(7)]
    assert ascending.next_cursor is None
    assert "value" not in repr(ascending)


async def test_paging_neither_skips_nor_repeats_while_writes_happen(
    store: SecretStore, clock: FakeClock
) -> None:
    for i in range(20):
        clock.advance(milliseconds=1)
        await store.put(NS, f"s{i:02d}", "v")
    seen: list[str] = []
    page = await store.list(NS, limit=5)
    seen += [item.info.name for item in page.items]
    while page.next_cursor:
        # writes between pages: new secrets, and an overwrite of one already seen
        clock.advance(milliseconds=1)
        await store.put(NS, f"new-{len(seen)}", "v")
        await store.put(NS, seen[0], "v-again")
        page = await store.list(NS, limit=5, cursor=page.next_cursor)
        seen += [item.info.name for item in page.items]
    assert seen == [f"s{i:02d}" for i in reversed(range(20))]


async def test_equal_timestamps_page_by_id(store: SecretStore) -> None:
    for i in range(9):
        await store.put(NS, f"same-{i}", "v")
    seen = []
    cursor = None
    while True:
        page = await store.list(NS, limit=2, cursor=cursor, order="asc")
        seen += [item.info.name for item in page.items]
        if not (cursor := page.next_cursor):
            break
    assert sorted(seen) == sorted(f"same-{i}" for i in range(9))
    assert len(seen) == 9


@pytest.mark.parametrize("cursor", ["garbage", "", "eyJ4IjoxfQ", "!!!"])
async def test_bad_cursor_is_invalid_argument(store: SecretStore, cursor: str) -> None:
    with pytest.raises(SecretStoreError) as error:
        await store.list(NS, cursor=cursor)
    assert error.value.code == "invalid_argument"


async def test_cursor_of_another_order_or_listing_is_refused(
    store: SecretStore, clock: FakeClock
) -> None:
    for i in range(3):
        clock.advance(milliseconds=1)
        await store.put(NS, f"s{i}", "v")
    cursor = (await store.list(NS, limit=1)).next_cursor
    assert cursor
    for call in (store.list(NS, cursor=cursor, order="asc"), store.list_events(cursor=cursor)):
        with pytest.raises(SecretStoreError) as error:
            await call
        assert error.value.code == "invalid_argument"


@pytest.mark.parametrize("limit", [0, 201, -5])
async def test_bad_limit_is_invalid_argument(store: SecretStore, limit: int) -> None:
    with pytest.raises(SecretStoreError) as error:
        await store.list(NS, limit=limit)
    assert error.value.code == "invalid_argument"


async def test_namespace_counts(store: SecretStore, clock: FakeClock) -> None:
    from core.access import NamespaceScope

    await store.put("a_1", "x", "v")
    await store.put("a_1", "y", "v", ttl_ms=1)
    await store.put("ab", "x", "v")
    await store.put("b", "x", "v")
    clock.advance(seconds=1)
    counts = await store.list_namespaces()
    assert [(c.namespace, c.secrets, c.expired) for c in counts] == [
        ("a_1", 2, 1),
        ("ab", 1, 0),
        ("b", 1, 0),
    ]
    # '_' is literal in a prefix, not a wildcard
    scoped = await store.list_namespaces(NamespaceScope.from_patterns(["a_*", "b"]))
    assert [c.namespace for c in scoped] == ["a_1", "b"]


async def test_event_filters_combine(store: SecretStore, clock: FakeClock) -> None:
    from core.access import NamespaceScope

    a = await store.put("a", "k", "v")
    await store.put("a", "k", "v2")
    await store.put("a", "other", "v")
    await store.put("b", "k", "v")
    await store.remove("a", "k")
    assert len(await events(store)) == 5
    assert [e.type for e in await events(store, namespace="a", name="k")] == [
        "created",
        "updated",
        "deleted",
    ]
    assert len(await events(store, type="created")) == 3
    assert len(await events(store, secret_id=a.info.secret_id)) == 3
    assert len(await events(store, scope=NamespaceScope.from_patterns(["b"]))) == 1
    for bad in ({"type": "exploded"}, {"secret_id": "nope"}, {"namespace": "bad ns"}):
        with pytest.raises(SecretStoreError) as error:
            await store.list_events(**bad)
        assert error.value.code == "invalid_argument"


async def test_event_paging_in_both_orders(store: SecretStore) -> None:
    for i in range(11):
        await store.put(NS, f"s{i}", "v")
    for order in ("asc", "desc"):
        seen = []
        cursor = None
        while True:
            page = await store.list_events(limit=4, cursor=cursor, order=order)
            seen += [e.event_id for e in page.items]
            if not (cursor := page.next_cursor):
                break
        ids = sorted(seen, key=int)
        assert seen == (ids if order == "asc" else ids[::-1])
        assert len(set(seen)) == 11


async def test_concurrent_reads_share_queries_and_each_gets_its_own_secret(
    store: SecretStore,
) -> None:
    for i in range(150):
        await store.put(NS, f"K{i}", f"value {i}")
    calls = store._reads.calls
    names = [f"K{i}" for i in range(150)] + ["K0", "absent"]
    results = await asyncio.gather(*(store.get(NS, name) for name in names))
    values = [r.secret.value if isinstance(r, Found) else r for r in results]
    assert values == [f"value {i}" for i in range(150)] + ["value 0", Missing("not_found")]
    # 151 distinct keys in one turn: two queries of at most 100 keys.
    assert store._reads.calls - calls == 2


async def test_a_read_inside_a_transaction_sees_the_transaction_s_writes(
    store: SecretStore,
) -> None:
    async with transaction():
        await store.put(NS, "in-flight", "uncommitted")
        inside = await store.get(NS, "in-flight")
        elsewhere = contextvars.Context()  # another request's task, outside the transaction
        outside = await asyncio.create_task(store.get(NS, "in-flight"), context=elsewhere)
    assert isinstance(inside, Found) and inside.secret.value == "uncommitted"
    assert outside == Missing("not_found")
