"""/api/v1/tokens: created by an admin, shown once, stored as a hash, listed, revoked."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from core.db import fetch
from tests.web.conftest import TokenFactory
from tests.web.support import assert_error, snapshot

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def create(client: httpx.AsyncClient, **fields: object) -> httpx.Response:
    body = {"name": "ci", "namespaces": ["acme:*"], "capabilities": ["read", "list"], **fields}
    return await client.post("/api/v1/tokens", json=body)


async def test_create_shows_the_token_once_and_stores_only_its_hash(
    client: httpx.AsyncClient,
) -> None:
    response = await create(client, ttl_ms=3_600_000)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "token_id",
        "token",
        "name",
        "namespaces",
        "capabilities",
        "created_at",
        "expires_at",
    }
    assert body["name"] == "ci"
    assert body["namespaces"] == ["acme:*"] and body["capabilities"] == ["read", "list"]
    assert TIMESTAMP.fullmatch(body["created_at"]) and TIMESTAMP.fullmatch(body["expires_at"])
    rows = await fetch("SELECT * FROM api_tokens")
    assert len(rows) == 1
    stored = " ".join(str(value) for value in dict(rows[0]).values())
    assert body["token"] not in stored
    assert rows[0]["token_hash"] == hashlib.sha256(body["token"].encode()).hexdigest()

    listed = (await client.get("/api/v1/tokens")).json()
    assert body["token"] not in str(listed)
    assert listed["items"] == [
        {
            "token_id": body["token_id"],
            "name": "ci",
            "namespaces": ["acme:*"],
            "capabilities": ["read", "list"],
            "created_by": "bootstrap-admin",
            "created_at": body["created_at"],
            "expires_at": body["expires_at"],
            "revoked_at": None,
        }
    ]


async def test_a_token_without_ttl_never_expires(client: httpx.AsyncClient) -> None:
    assert (await create(client)).json()["expires_at"] is None
    assert (await create(client, ttl_ms=None)).json()["expires_at"] is None


async def test_revoke_answers_the_revoked_token(client: httpx.AsyncClient) -> None:
    token_id = (await create(client)).json()["token_id"]
    response = await client.delete(f"/api/v1/tokens/{token_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["revoked"] is True and body["token_id"] == token_id
    assert TIMESTAMP.fullmatch(body["revoked_at"])
    assert "token" not in body
    again = await client.delete(f"/api/v1/tokens/{token_id}")
    assert again.status_code == 200 and again.json()["revoked_at"] == body["revoked_at"]
    listed = (await client.get("/api/v1/tokens")).json()["items"]
    assert listed[0]["revoked_at"] == body["revoked_at"]


@pytest.mark.parametrize(
    "token_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "bootstrap-admin"]
)
async def test_revoking_an_unknown_token_is_404(client: httpx.AsyncClient, token_id: str) -> None:
    assert_error(await client.delete(f"/api/v1/tokens/{token_id}"), 404, "not_found")


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 129},
        {"name": "a\x00b"},
        {"name": 5},
        {"namespaces": []},
        {"namespaces": ["bad pattern"]},
        {"namespaces": ["acme*x"]},
        {"namespaces": "acme:*"},
        {"capabilities": []},
        {"capabilities": ["root"]},
        {"capabilities": "read"},
        {"ttl_ms": 0},
        {"ttl_ms": -5},
        {"ttl_ms": 1.5},
        {"ttl_ms": "1000"},
        {"extra": True},
    ],
)
async def test_a_bad_token_request_is_400_and_creates_nothing(
    client: httpx.AsyncClient, fields: dict[str, object]
) -> None:
    before = await snapshot()
    assert_error(await create(client, **fields), 400, "invalid_argument")
    assert await snapshot() == before


async def test_required_fields_are_required(client: httpx.AsyncClient) -> None:
    for missing in ("name", "namespaces", "capabilities"):
        body = {"name": "ci", "namespaces": ["*"], "capabilities": ["read"]}
        del body[missing]
        response = await client.post("/api/v1/tokens", json=body)
        assert missing in assert_error(response, 400, "invalid_argument")["message"]


async def test_a_token_cannot_grant_more_than_it_holds(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    scoped_admin = await token_client(["acme:*"], ["admin", "read"])
    allowed = await create(
        scoped_admin, namespaces=["acme:prod", "acme:dev*"], capabilities=["read"]
    )
    assert allowed.status_code == 201
    for fields in (
        {"namespaces": ["*"]},
        {"namespaces": ["other"]},
        {"namespaces": ["acme*"]},
        {"capabilities": ["write"]},
    ):
        assert_error(await create(scoped_admin, **fields), 403, "forbidden")
    exact_admin = await token_client(["acme"], ["admin", "read"])
    assert_error(await create(exact_admin, namespaces=["acme*"]), 403, "forbidden")
    assert (
        await create(exact_admin, namespaces=["acme"], capabilities=["read"])
    ).status_code == 201


async def test_a_created_token_works_at_once(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    holder = await token_client(["acme:*"], ["list"])
    assert (await holder.get("/api/v1/secrets/acme:prod")).status_code == 200
