"""Malformed requests of every kind are 4xx, say what is wrong, and change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.web.support import assert_error, put, secret_url, snapshot

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def seeded(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """An admin client, with ns/existing holding "original" (a bad request must not touch it)."""
    assert (await put(client, "ns", "existing", "original", metadata={"m": 1})).status_code == 201
    return client


BROKEN_BODIES = [
    b"",
    b"{",
    b'{"value": ',
    b"not json",
    b'{"value": "a",}',
    b"[]",
    b'"just a string"',
    b"null",
    b"42",
    b'{"value": "\\ud800"}',  # a lone high surrogate
    b'{"value": "\\udc00x"}',  # a lone low surrogate
    b'{"value": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8
    b'{"value": "\xff\xfe"}',  # not UTF-8 at all
    b'{"value": "v", "metadata": {"k\\ud800": 1}}',
    b'{"value": "v", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"value": "v", "metadata": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}",
    b'{"value": "v", "metadata": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
    b'{"value": "v", "metadata": {"a": ' + b'{"a": ' * 40 + b"1" + b"}" * 41 + b"}",
]


@pytest.mark.parametrize("body", BROKEN_BODIES)
async def test_a_broken_body_is_400(seeded: httpx.AsyncClient, body: bytes) -> None:
    before = await snapshot()
    for name in ("existing", "new"):
        response = await seeded.put(secret_url("ns", name), content=body, headers=JSON)
        assert_error(response, 400, "invalid_argument")
    assert await snapshot() == before


WRONG_FIELDS = [
    {"value": 5},
    {"value": None},
    {"value": ["a"]},
    {"value": True},
    {"metadata": {}},  # no value
    {"value": "v", "metadata": "x"},
    {"value": "v", "metadata": [1]},
    {"value": "v", "metadata": "null"},  # lax parsing would clear the metadata
    {"value": "v", "metadata": 1},
    {"value": "v", "ttl_ms": "1000"},  # lax parsing would read a number
    {"value": "v", "ttl_ms": "null"},
    {"value": "v", "ttl_ms": 1.5},
    {"value": "v", "ttl_ms": True},
    {"value": "v", "ttl_ms": 0},
    {"value": "v", "ttl_ms": -1},
    {"value": "v", "ttl_ms": 10**30},
    {"value": "v", "ttl": 5},  # unknown field
    {"value": "v", "metadata": {"key": "a\u0000b"}},
    {"value": "v", "metadata": {"a\u0000": 1}},
    {"value": "v", "metadata": {"big": "x" * 9000}},
]


@pytest.mark.parametrize("body", WRONG_FIELDS, ids=lambda body: json.dumps(body)[:40])
async def test_a_wrong_field_is_400_naming_it(seeded: httpx.AsyncClient, body: dict) -> None:
    before = await snapshot()
    for name in ("existing", "new"):
        response = await seeded.put(secret_url("ns", name), json=body)
        assert_error(response, 400, "invalid_argument")
    assert await snapshot() == before


@pytest.mark.parametrize(
    "body",
    [{"metadata": "null"}, {"ttl_ms": "5"}, {"ttl_ms": 0}, {"value": "v"}, {"bogus": 1}, []],
)
async def test_a_wrong_patch_is_400(seeded: httpx.AsyncClient, body: object) -> None:
    before = await snapshot()
    response = await seeded.patch(secret_url("ns", "existing"), json=body)
    assert_error(response, 400, "invalid_argument")
    assert await snapshot() == before


async def test_a_whole_number_with_a_decimal_point_is_an_integer(
    client: httpx.AsyncClient,
) -> None:
    # JSON has one number type, and JSON schema's integer includes 1000.0.
    response = await client.put(secret_url("ns", "s"), json={"value": "v", "ttl_ms": 60000.0})
    assert response.status_code == 201 and response.json()["expires_at"] is not None
    response = await client.post(
        "/api/v1/tokens",
        json={"name": "t", "namespaces": ["*"], "capabilities": ["read"], "ttl_ms": 1e6},
    )
    assert response.status_code == 201


async def test_messages_name_the_field_without_echoing_the_value(
    seeded: httpx.AsyncClient,
) -> None:
    response = await seeded.put(
        secret_url("ns", "new"), json={"value": "v", "ttl_ms": "hunter2-ttl"}
    )
    message = assert_error(response, 400, "invalid_argument")["message"]
    assert "ttl_ms" in message and "hunter2" not in message


async def test_a_body_over_the_limit_is_413(seeded: httpx.AsyncClient) -> None:
    before = await snapshot()
    body = json.dumps({"value": "x" * (600 * 1024)}).encode()
    response = await seeded.put(secret_url("ns", "existing"), content=body, headers=JSON)
    assert_error(response, 413, "value_too_large")
    assert await snapshot() == before


async def test_a_streamed_body_over_the_limit_is_413(seeded: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"value": "'
        for _ in range(100):
            yield b"x" * 10_000
        yield b'"}'

    before = await snapshot()
    response = await seeded.put(secret_url("ns", "existing"), content=chunks(), headers=JSON)
    assert_error(response, 413, "value_too_large")
    assert await snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/secrets/ns/a%2Fb",  # a '/' in the name
        "/api/v1/secrets/ns/..%2Fother",
        "/api/v1/secrets/ns/%2E%2E",  # '..' survives only percent-encoded
        "/api/v1/secrets/ns/%2E",
        "/api/v1/secrets/ns/a%00b",
        "/api/v1/secrets/ns/a%0Ab",
        "/api/v1/secrets/ns/%20padded",
        "/api/v1/secrets/ns/padded%20",
        "/api/v1/secrets/ns/%C2%85next-line",  # U+0085, a C1 control
        "/api/v1/secrets/ns/" + "n" * 257,
        "/api/v1/secrets/bad%20ns/name",
        "/api/v1/secrets/-ns/name",
        "/api/v1/secrets/" + "n" * 129 + "/name",
        "/api/v1/secrets/ns%2Fx/name",
        "/api/v1/secrets/%E2%80%AEns/name",
    ],
)
async def test_path_tricks_are_refused_and_change_nothing(
    seeded: httpx.AsyncClient, path: str
) -> None:
    before = await snapshot()
    for method, body in (
        ("PUT", {"value": "v"}),
        ("GET", None),
        ("PATCH", {"ttl_ms": 1}),
        ("DELETE", None),
    ):
        response = await seeded.request(method, path, json=body)
        assert 400 <= response.status_code < 500, (method, path, response.text)
        assert response.json()["code"] in {"invalid_argument", "not_found"}
    assert await snapshot() == before


@pytest.mark.parametrize(
    "name",
    [
        "ключ",
        "名前",
        "emoji 🔑 key",
        "a%b",
        "a?b",
        "a#b",
        "dots...",
        "RTL\u202eoverride",
        "zw\u200dj",
    ],
)
async def test_odd_but_valid_names_round_trip(client: httpx.AsyncClient, name: str) -> None:
    from urllib.parse import quote

    path = secret_url("ns", quote(name, safe=""))
    assert (await client.put(path, json={"value": name})).status_code == 201
    read = await client.get(path)
    assert read.json()["name"] == name and read.json()["value"] == name
    listed = (await client.get(secret_url("ns"))).json()["items"]
    assert [item["name"] for item in listed] == [name]


async def test_odd_unicode_values_round_trip(client: httpx.AsyncClient) -> None:
    value = "\x00\x01 nul and controls, \u202e rtl, \U0001f511 astral, \ufeff bom, \uffff"
    assert (await put(client, "ns", "odd", value)).status_code == 201
    assert (await client.get(secret_url("ns", "odd"))).json()["value"] == value


async def test_unknown_routes_are_404_not_found(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/nothing", "/api/v2/secrets/ns/x", "/api/v1/secrets"):
        assert_error(await client.get(path), 404, "not_found")


async def test_a_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.post(secret_url("ns", "x"), json={"value": "v"})
    assert_error(response, 405, "invalid_argument")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {
        "GET",
        "PUT",
        "PATCH",
        "DELETE",
    }


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/secrets/ns/x", "DELETE, GET, OPTIONS, PATCH, PUT"),
        ("/api/v1/secrets/ns", "GET, OPTIONS"),
        ("/api/v1/rotation", "GET, OPTIONS, POST"),
        ("/api/v1/tokens", "GET, OPTIONS, POST"),
    ],
)
async def test_options_lists_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, methods: str
) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert response.headers["allow"] == methods
