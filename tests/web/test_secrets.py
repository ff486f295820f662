"""PUT, GET, PATCH, DELETE and list of /api/v1/secrets, as API.md describes them."""

from __future__ import annotations

import re

import httpx

from core.db import fetch
from core.keys import define_keys
from tests.keys import KEY_1, KEY_2
from tests.web.conftest import AppFactory, ClientFactory
from tests.web.support import assert_error, put, secret_url

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def test_put_creates_with_201_then_replaces_with_200(client: httpx.AsyncClient) -> None:
    created = await put(client, "acme:prod", "API_KEY", "one", metadata={"owner": "ops"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {
        "secret_id",
        "namespace",
        "name",
        "created_at",
        "updated_at",
        "expires_at",
        "key_version",
        "version",
        "is_new",
    }
    assert body["namespace"] == "acme:prod" and body["name"] == "API_KEY"
    assert body["is_new"] is True and body["key_version"] == 1 and body["expires_at"] is None
    assert TIMESTAMP.fullmatch(body["created_at"]) and TIMESTAMP.fullmatch(body["updated_at"])
    assert isinstance(body["secret_id"], str)

    replaced = await put(client, "acme:prod", "API_KEY", "two")
    assert replaced.status_code == 200
    assert replaced.json()["is_new"] is False
    assert replaced.json()["secret_id"] == body["secret_id"]

    read = await client.get(secret_url("acme:prod", "API_KEY"))
    assert read.status_code == 200
    assert read.json()["value"] == "two"
    # metadata absent on overwrite keeps what was stored
    assert read.json()["metadata"] == {"owner": "ops"}


async def test_get_answers_every_field(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "name", "the value", metadata={"a": [1, 2, {"b": None}]}, ttl_ms=60_000)
    body = (await client.get(secret_url("ns", "name"))).json()
    assert set(body) == {
        "secret_id",
        "namespace",
        "name",
        "value",
        "metadata",
        "created_at",
        "updated_at",
        "expires_at",
        "key_version",
        "version",
    }
    assert body["value"] == "the value"
    assert body["metadata"] == {"a": [1, 2, {"b": None}]}
    assert TIMESTAMP.fullmatch(body["expires_at"])


async def test_metadata_null_clears_and_absent_keeps(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "s", metadata={"k": "v"})
    await put(client, "ns", "s")
    assert (await client.get(secret_url("ns", "s"))).json()["metadata"] == {"k": "v"}
    await put(client, "ns", "s", metadata=None)
    assert (await client.get(secret_url("ns", "s"))).json()["metadata"] is None


async def test_ttl_null_never_expires_and_absent_uses_the_default(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    app = make_app({**environ, "SECRET_STORE_DEFAULT_TTL_MS": "3600000"})
    client = await make_client(app)
    with_default = (await put(client, "ns", "a")).json()
    assert with_default["expires_at"] is not None
    never = (await put(client, "ns", "a", ttl_ms=None)).json()
    assert never["expires_at"] is None


async def test_the_value_may_be_empty_or_exactly_the_limit(client: httpx.AsyncClient) -> None:
    assert (await put(client, "ns", "empty", "")).status_code == 201
    largest = "é" * (65_536 // 2)
    assert (await put(client, "ns", "largest", largest)).status_code == 201
    assert (await client.get(secret_url("ns", "largest"))).json()["value"] == largest


async def test_a_value_over_the_limit_is_413_value_too_large(client: httpx.AsyncClient) -> None:
    response = await put(client, "ns", "big", "x" * 65_537)
    assert_error(response, 413, "value_too_large")
    assert_error(await client.get(secret_url("ns", "big")), 404, "not_found")


async def test_the_largest_value_fits_in_the_body_however_it_is_escaped(
    client: httpx.AsyncClient,
) -> None:
    # Every byte of the value written as a 6-byte \\u escape.
    value = "\x01" * 65_536
    body = '{"value": "' + "\\u0001" * 65_536 + '", "metadata": {"k": "' + "\\u0001" * 1300 + '"}}'
    response = await client.put(
        secret_url("ns", "escaped"), content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert (await client.get(secret_url("ns", "escaped"))).json()["value"] == value


async def test_get_of_a_missing_secret_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(secret_url("ns", "nothing")), 404, "not_found")


async def test_get_of_an_expired_secret_is_410(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "old", ttl_ms=1)
    await fetch("UPDATE secrets SET expires_at = expires_at - interval '1 second'")
    assert_error(await client.get(secret_url("ns", "old")), 410, "expired")
    listed = (await client.get(secret_url("ns"))).json()["items"]
    assert [item["state"] for item in listed] == ["expired"]


async def test_get_with_a_retired_key_is_409_key_unavailable(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    both = await make_client(make_app({**environ, "SECRET_STORE_KEYS": define_keys({1: KEY_1})}))
    await put(both, "ns", "s")
    only_2 = await make_client(make_app({**environ, "SECRET_STORE_KEYS": define_keys({2: KEY_2})}))
    assert_error(await only_2.get(secret_url("ns", "s")), 409, "key_unavailable")


async def test_get_of_tampered_ciphertext_is_500_decryption_failed(
    client: httpx.AsyncClient,
) -> None:
    await put(client, "ns", "s", "the value")
    await fetch(
        "UPDATE secret_versions SET ciphertext ="
        " set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)"
    )
    response = await client.get(secret_url("ns", "s"))
    body = assert_error(response, 500, "decryption_failed")
    assert "the value" not in response.text and "Traceback" not in body["message"]


async def test_patch_changes_metadata_and_expiry_only(client: httpx.AsyncClient) -> None:
    created = (await put(client, "ns", "s", "value", metadata={"a": 1})).json()
    response = await client.patch(
        secret_url("ns", "s"), json={"metadata": {"b": 2}, "ttl_ms": 60_000}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"secret_id", "namespace", "name", "updated_at", "expires_at", "metadata"}
    assert body["metadata"] == {"b": 2} and body["expires_at"] is not None
    assert body["secret_id"] == created["secret_id"]
    cleared = await client.patch(secret_url("ns", "s"), json={"ttl_ms": None})
    assert cleared.json()["expires_at"] is None and cleared.json()["metadata"] == {"b": 2}
    read = (await client.get(secret_url("ns", "s"))).json()
    assert read["value"] == "value" and read["key_version"] == 1


async def test_patch_ignores_the_default_ttl(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    client = await make_client(make_app({**environ, "SECRET_STORE_DEFAULT_TTL_MS": "3600000"}))
    await put(client, "ns", "s", ttl_ms=None)
    response = await client.patch(secret_url("ns", "s"), json={"metadata": {"x": 1}})
    assert response.json()["expires_at"] is None


async def test_patch_needs_at_least_one_field(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "s")
    assert_error(await client.patch(secret_url("ns", "s"), json={}), 400, "invalid_argument")


async def test_patch_of_a_missing_secret_is_404(client: httpx.AsyncClient) -> None:
    response = await client.patch(secret_url("ns", "missing"), json={"ttl_ms": 1000})
    assert_error(response, 404, "not_found")


async def test_patch_validates_before_the_lookup(client: httpx.AsyncClient) -> None:
    response = await client.patch(secret_url("ns", "missing"), json={"ttl_ms": 0})
    assert_error(response, 400, "invalid_argument")


async def test_delete_answers_whether_it_removed(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "s")
    first = await client.delete(secret_url("ns", "s"))
    assert first.status_code == 200
    assert first.json()["removed"] is True and first.json()["purged"] is False
    second = await client.delete(secret_url("ns", "s"))
    assert second.status_code == 200 and second.json() == {"removed": False}
    assert_error(await client.get(secret_url("ns", "s")), 404, "not_found")


async def test_list_pages_by_cursor_without_values(client: httpx.AsyncClient) -> None:
    for index in range(5):
        await put(client, "ns", f"s{index}", f"value {index}", metadata={"i": index})
    await put(client, "other", "x")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(secret_url("ns"), params=params)
        assert response.status_code == 200
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        for item in page["items"]:
            assert "value" not in item
            assert set(item) == {
                "secret_id",
                "namespace",
                "name",
                "metadata",
                "created_at",
                "updated_at",
                "expires_at",
                "key_version",
                "version",
                "state",
            }
            assert item["state"] == "active"
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["s4", "s3", "s2", "s1", "s0"]
    ascending = (await client.get(secret_url("ns"), params={"order": "asc"})).json()
    assert [item["name"] for item in ascending["items"]] == ["s0", "s1", "s2", "s3", "s4"]
    assert ascending["next_cursor"] is None


async def test_list_of_an_empty_namespace_is_an_empty_page(client: httpx.AsyncClient) -> None:
    response = await client.get(secret_url("nothing-here"))
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_list_refuses_a_bad_limit_order_or_cursor(client: httpx.AsyncClient) -> None:
    for params in (
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"order": "up"},
        {"cursor": "nope"},
    ):
        response = await client.get(secret_url("ns"), params=params)
        assert_error(response, 400, "invalid_argument")


async def test_namespaces_lists_counts(client: httpx.AsyncClient) -> None:
    await put(client, "a", "one")
    await put(client, "a", "two", ttl_ms=1)
    await put(client, "b", "one")
    await fetch("UPDATE secrets SET expires_at = now() - interval '1 second' WHERE name = 'two'")
    response = await client.get("/api/v1/namespaces")
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {"namespace": "a", "secrets": 2, "expired": 1},
            {"namespace": "b", "secrets": 1, "expired": 0},
        ]
    }


async def test_every_write_is_recorded_with_the_acting_token(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "s")
    await client.patch(secret_url("ns", "s"), json={"metadata": {"a": 1}})
    await client.delete(secret_url("ns", "s"))
    events = (await client.get("/api/v1/events", params={"order": "asc"})).json()["items"]
    assert [event["type"] for event in events] == ["created", "updated", "deleted"]
    assert {event["actor"] for event in events} == {"bootstrap-admin"}
    assert events[1]["detail"] == {"changed": ["metadata"]}
    assert events[2]["detail"] == {"reason": "removed"}
