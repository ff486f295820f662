"""The blocking client against the real web process: each secret call, as a user makes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from secretstore_client import (
    Conflict,
    NotFound,
    Secret,
    SecretStoreClient,
)

from tests.client.support import before_versions, versions_pending

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


# -- versions, compare-and-set, soft delete: API.md, not in the service yet -------------


@versions_pending
def test_put_reports_the_version_it_wrote(client: SecretStoreClient, ns: str) -> None:
    assert client.put(ns, "V", "one").version == 1
    assert client.put(ns, "V", "two").version == 2
    assert client.get(ns, "V").version == 2


@versions_pending
def test_put_if_version_refuses_a_stale_version_with_the_current_one(
    client: SecretStoreClient, ns: str
) -> None:
    client.put(ns, "CAS", "one")
    client.put(ns, "CAS", "two")
    with pytest.raises(Conflict) as refused:
        client.put(ns, "CAS", "three", if_version=1)
    assert refused.value.current_version == 2
    assert client.get(ns, "CAS").value == "two"


@versions_pending
def test_put_if_absent_refuses_an_existing_secret(client: SecretStoreClient, ns: str) -> None:
    client.put(ns, "ONCE", "first", if_absent=True)
    with pytest.raises(Conflict):
        client.put(ns, "ONCE", "second", if_absent=True)
    assert client.get(ns, "ONCE").value == "first"


@before_versions
def test_get_of_an_earlier_version_is_refused_before_versions(
    client: SecretStoreClient, ns: str
) -> None:
    """After issue 13: ``get(version=1)`` reads version 1's value."""
    from secretstore_client import InvalidArgument

    client.put(ns, "V", "one")
    with pytest.raises(InvalidArgument, match="version"):
        client.get(ns, "V", version=1)


@before_versions
def test_history_is_not_served_before_versions(client: SecretStoreClient, ns: str) -> None:
    """After issue 13: ``history`` lists the versions, newest first, the first one current."""
    client.put(ns, "V", "one")
    with pytest.raises(NotFound):
        client.history(ns, "V")


@before_versions
def test_rollback_is_not_served_before_versions(client: SecretStoreClient, ns: str) -> None:
    """After issue 13: ``rollback(..., 1)`` writes version 3 holding version 1's value."""
    client.put(ns, "V", "one")
    client.put(ns, "V", "two")
    with pytest.raises(NotFound):
        client.rollback(ns, "V", 1)
    assert client.get(ns, "V").value == "two"


@before_versions
def test_restore_is_not_served_before_versions(client: SecretStoreClient, ns: str) -> None:
    """After issue 13: a deleted secret comes back with ``restore``; purge makes it impossible."""
    client.put(ns, "V", "one")
    client.delete(ns, "V")
    with pytest.raises(NotFound):
        client.restore(ns, "V")


@before_versions
def test_listing_deleted_secrets_and_purging_are_refused_before_versions(
    client: SecretStoreClient, ns: str
) -> None:
    """After issue 13: ``list(deleted=True)`` lists deleted ones; ``purge`` destroys at once."""
    from secretstore_client import InvalidArgument

    client.put(ns, "V", "one")
    with pytest.raises(InvalidArgument, match="state"):
        list(client.list(ns, deleted=True))
    with pytest.raises(InvalidArgument, match="purge"):
        client.delete(ns, "V", purge=True)
