"""The blocking client against the real web process: each secret call, as a user makes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from secretstore_client import (
    Conflict,
    NotFound,
    Secret,
    SecretStoreClient,
    VersionInfo,
)

HOSTILE = "line one\nline 'two' \"three\" `four` $HOME ${HOME} \\ # x  ünïcode  "


def test_put_creates_then_replaces_and_get_reads_the_value_back(
    client: SecretStoreClient, ns: str
) -> None:
    created = client.put(ns, "DATABASE_URL", HOSTILE, metadata={"owner": "db"})
    replaced = client.put(ns, "DATABASE_URL", "postgres://new")
    secret = client.get(ns, "DATABASE_URL")

    assert created.created and not replaced.created
    assert (created.namespace, created.name) == (ns, "DATABASE_URL")
    assert isinstance(secret, Secret)
    assert secret.value == "postgres://new"
    # Metadata left out of the second put is kept.
    assert secret.metadata == {"owner": "db"}
    assert secret.secret_id == created.secret_id
    assert secret.updated_at.tzinfo is not None


def test_a_value_is_read_back_exactly(client: SecretStoreClient, ns: str) -> None:
    for name, value in {"HOSTILE": HOSTILE, "EMPTY": "", "LARGE": "x" * 65_536}.items():
        client.put(ns, name, value)
        assert client.get(ns, name).value == value


def test_a_secrets_repr_never_shows_its_value(client: SecretStoreClient, ns: str) -> None:
    client.put(ns, "API_KEY", "sk-do-not-print")
    assert "sk-do-not-print" not in repr(client.get(ns, "API_KEY"))


def test_names_and_namespaces_are_sent_percent_encoded(client: SecretStoreClient) -> None:
    namespace = "acme:prod@eu-1.x"
    client.put(namespace, "a name with spaces?#%", "v")
    assert client.get(namespace, "a name with spaces?#%").value == "v"
    assert [info.name for info in client.list(namespace)] == ["a name with spaces?#%"]


def test_put_with_ttl_sets_the_expiry_and_none_clears_it(
    client: SecretStoreClient, ns: str
) -> None:
    before = datetime.now(UTC)
    expiring = client.put(ns, "TOKEN", "v", ttl_ms=3_600_000)
    assert expiring.expires_at is not None
    assert before + timedelta(minutes=59) < expiring.expires_at < before + timedelta(minutes=61)
    assert client.put(ns, "TOKEN", "v", ttl_ms=None).expires_at is None


def test_update_changes_metadata_and_expiry_without_touching_the_value(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "NAME", "value", metadata={"a": 1})
    updated = client.update(ns, "NAME", metadata={"b": 2}, ttl_ms=60_000)
    assert updated.metadata == {"b": 2} and updated.expires_at is not None
    cleared = client.update(ns, "NAME", metadata=None, ttl_ms=None)
    assert cleared.metadata is None and cleared.expires_at is None
    assert client.get(ns, "NAME").value == "value"


def test_delete_removes_and_reports_nothing_left_to_remove(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "GONE", "v")
    assert client.delete(ns, "GONE").removed
    with pytest.raises(NotFound):
        client.get(ns, "GONE")
    assert not client.delete(ns, "GONE").removed


def test_list_follows_next_cursor_through_every_page(client: SecretStoreClient, ns: str) -> None:
    names = {f"NAME_{index:02d}" for index in range(25)}
    for name in names:
        client.put(ns, name, "v")

    listed = list(client.list(ns, page_size=4))

    assert len(listed) == 25 and {info.name for info in listed} == names
    assert all(info.state == "active" for info in listed)
    newest_first = [info.updated_at for info in listed]
    assert newest_first == sorted(newest_first, reverse=True)
    oldest_first = [info.updated_at for info in client.list(ns, page_size=7, order="asc")]
    assert oldest_first == sorted(oldest_first)


def test_list_of_an_empty_namespace_is_empty(client: SecretStoreClient, ns: str) -> None:
    assert list(client.list(ns)) == []


def test_get_many_returns_every_active_secret_of_the_namespace(
    client: SecretStoreClient, ns: str
) -> None:
    expected = {f"VAR_{index:03d}": f"value-{index}\n'$`" for index in range(230)}
    for name, value in expected.items():
        client.put(ns, name, value)
    client.put(ns, "EXPIRING", "soon", ttl_ms=1)
    client.put(f"{ns}-other", "ELSEWHERE", "v")

    assert client.get_many(ns) == expected


def test_namespaces_lists_the_visible_namespaces_with_counts(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "A", "v")
    client.put(ns, "B", "v")
    counts = {count.namespace: count for count in client.namespaces()}
    assert counts[ns].secrets == 2 and counts[ns].expired == 0


def test_events_lists_what_happened_to_a_secret(client: SecretStoreClient, ns: str) -> None:
    client.put(ns, "AUDITED", "v1")
    client.put(ns, "AUDITED", "v2")
    client.delete(ns, "AUDITED")

    types = [event.type for event in client.events(namespace=ns, name="AUDITED", page_size=1)]

    assert types == ["deleted", "updated", "created"]


def test_tokens_are_created_listed_used_and_revoked(client: SecretStoreClient, ns: str) -> None:
    created = client.create_token("reader", [ns], ["read"], ttl_ms=60_000)
    assert created.token not in repr(created)
    client.put(ns, "SHARED", "v")

    with SecretStoreClient(client.url, created.token) as reader:
        assert reader.get(ns, "SHARED").value == "v"
        assert created.info.token_id in {token.token_id for token in client.list_tokens()}
        assert client.revoke_token(created.info.token_id).revoked_at is not None


# -- versions, compare-and-set, soft delete, restore, rollback ------------------------


def test_put_reports_the_version_it_wrote(client: SecretStoreClient, ns: str) -> None:
    assert client.put(ns, "V", "one").version == 1
    assert client.put(ns, "V", "two").version == 2
    assert client.get(ns, "V").version == 2


def test_put_if_version_refuses_a_stale_version_with_the_current_one(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "CAS", "one")
    client.put(ns, "CAS", "two")
    with pytest.raises(Conflict) as refused:
        client.put(ns, "CAS", "three", if_version=1)
    assert refused.value.current_version == 2
    assert refused.value.status == 409
    assert client.get(ns, "CAS").value == "two"
    assert client.put(ns, "CAS", "three", if_version=2).version == 3


def test_put_if_absent_refuses_an_existing_secret(client: SecretStoreClient, ns: str) -> None:
    client.put(ns, "ONCE", "first", if_absent=True)
    with pytest.raises(Conflict) as refused:
        client.put(ns, "ONCE", "second", if_absent=True)
    assert refused.value.current_version == 1
    assert client.get(ns, "ONCE").value == "first"


def test_put_if_version_on_a_missing_secret_names_no_current_version(
    client: SecretStoreClient, ns: str
) -> None:
    with pytest.raises(Conflict) as refused:
        client.put(ns, "NOWHERE", "v", if_version=1)
    assert refused.value.current_version is None
    with pytest.raises(NotFound):
        client.get(ns, "NOWHERE")


def test_get_of_an_earlier_version_reads_that_version(client: SecretStoreClient, ns: str) -> None:
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")

    first = client.get(ns, "V", version=1)

    assert (first.value, first.version) == ("one", 1)
    assert (client.get(ns, "V").value, client.get(ns, "V").version) == ("two", 2)
    with pytest.raises(NotFound):
        client.get(ns, "V", version=3)


def test_history_lists_the_versions_newest_first(client: SecretStoreClient, ns: str) -> None:
    for value in ("one", "two", "three"):
        client.put(ns, "V", value)

    versions = client.history(ns, "V", page_size=2)

    assert [version.version for version in versions] == [3, 2, 1]
    assert [version.current for version in versions] == [True, False, False]
    assert all(isinstance(version, VersionInfo) for version in versions)
    created = [version.created_at for version in versions]
    assert created == sorted(created, reverse=True)
    with pytest.raises(NotFound):
        client.history(ns, "NEVER")


def test_rollback_writes_a_new_version_holding_the_old_value(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "V", "one", metadata={"owner": "db"})
    client.put(ns, "V", "two")

    rolled = client.rollback(ns, "V", 1)

    assert (rolled.version, rolled.created) == (3, False)
    secret = client.get(ns, "V")
    assert (secret.value, secret.version, secret.metadata) == ("one", 3, {"owner": "db"})
    assert [version.version for version in client.history(ns, "V")] == [3, 2, 1]
    with pytest.raises(NotFound):
        client.rollback(ns, "V", 9)
    with pytest.raises(Conflict) as refused:
        client.rollback(ns, "V", 2, if_version=2)
    assert refused.value.current_version == 3
    assert client.get(ns, "V").value == "one"


def test_restore_brings_a_deleted_secret_back_with_its_versions(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")
    deleted = client.delete(ns, "V")
    assert deleted.removed and not deleted.purged and deleted.restorable_until is not None
    with pytest.raises(NotFound):
        client.get(ns, "V")
    # The history stays readable, to choose what to restore.
    assert [version.version for version in client.history(ns, "V")] == [2, 1]

    restored = client.restore(ns, "V")

    assert (restored.namespace, restored.name, restored.version) == (ns, "V", 2)
    assert client.get(ns, "V").value == "two"
    assert client.get(ns, "V", version=1).value == "one"
    with pytest.raises(Conflict):
        client.restore(ns, "V")
    with pytest.raises(NotFound):
        client.restore(ns, "NEVER")


def test_a_put_over_a_deleted_secret_revives_it_as_a_new_version(
    client: SecretStoreClient, ns: str
) -> None:
    first = client.put(ns, "V", "one")
    client.delete(ns, "V")

    revived = client.put(ns, "V", "two")

    assert (revived.created, revived.version, revived.secret_id) == (True, 2, first.secret_id)
    assert client.get(ns, "V", version=1).value == "one"


def test_list_deleted_lists_only_deleted_secrets_with_their_window(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "KEPT", "v")
    client.put(ns, "GONE", "v")
    before = datetime.now(UTC) - timedelta(seconds=5)
    client.delete(ns, "GONE")

    [gone] = client.list(ns, deleted=True)

    assert (gone.name, gone.state, gone.version) == ("GONE", "deleted", 1)
    assert gone.deleted_at is not None and gone.deleted_at > before
    assert gone.restorable_until is not None and gone.restorable_until > gone.deleted_at
    [kept] = client.list(ns)
    assert (kept.name, kept.state, kept.deleted_at, kept.restorable_until) == (
        "KEPT", "active", None, None,
    )  # fmt: skip


def test_delete_with_purge_destroys_the_secret_and_its_versions(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")

    purged = client.delete(ns, "V", purge=True)

    assert purged.removed and purged.purged and purged.restorable_until is None
    assert list(client.list(ns, deleted=True)) == []
    with pytest.raises(NotFound):
        client.history(ns, "V")
    with pytest.raises(NotFound):
        client.restore(ns, "V")


def test_purge_also_destroys_an_already_deleted_secret(client: SecretStoreClient, ns: str) -> None:
    client.put(ns, "V", "one")
    client.delete(ns, "V")

    assert client.delete(ns, "V", purge=True).purged
    with pytest.raises(NotFound):
        client.restore(ns, "V")
