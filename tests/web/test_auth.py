"""Bearer tokens: who may call, what each capability allows where, and revocation."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from core.tokens import TokenService
from tests.web.conftest import AppFactory, ClientFactory, TokenFactory
from tests.web.support import assert_error, put, secret_url

# Every route behind a token, with a request that would succeed for an admin.
PROTECTED = [
    ("PUT", "/api/v1/secrets/ns/s", {"value": "v"}),
    ("GET", "/api/v1/secrets/ns/s", None),
    ("PATCH", "/api/v1/secrets/ns/s", {"ttl_ms": 1000}),
    ("DELETE", "/api/v1/secrets/ns/s", None),
    ("GET", "/api/v1/secrets/ns", None),
    ("GET", "/api/v1/secrets/ns/s/versions", None),
    ("POST", "/api/v1/secrets/ns/s/rollback", {"version": 1}),
    ("POST", "/api/v1/secrets/ns/s/restore", None),
    ("GET", "/api/v1/namespaces", None),
    ("GET", "/api/v1/events", None),
    ("GET", "/api/v1/audit/verify", None),
    ("GET", "/api/v1/rotation", None),
    ("POST", "/api/v1/rotation", None),
    ("POST", "/api/v1/cleanup/secrets", {}),
    ("POST", "/api/v1/cleanup/events", {}),
    ("GET", "/api/v1/tokens", None),
    ("POST", "/api/v1/tokens", {"name": "t", "namespaces": ["*"], "capabilities": ["read"]}),
    ("DELETE", "/api/v1/tokens/00000000-0000-0000-0000-000000000000", None),
]


def test_every_api_route_but_health_and_ready_is_listed_here(app: Litestar) -> None:
    routes = {
        (method, route.path_format)
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path_format.startswith("/api/v1")
        for method in route.methods
        if method != "OPTIONS"
    }
    listed = {
        (method, template)
        for method, path, _ in PROTECTED
        for _, template in routes
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path)
    }
    assert routes - listed == {("GET", "/api/v1/health"), ("GET", "/api/v1/ready")}


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_a_request_without_a_token_is_401(
    anonymous: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    response = await anonymous.request(method, path, json=body)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer sst_unknown", "Bearer ", "Basic dXNlcjpwYXNz", "sst_no_scheme", "Bearer " + "x" * 600],
)
async def test_an_unknown_or_malformed_token_is_401(
    anonymous: httpx.AsyncClient, authorization: str
) -> None:
    response = await anonymous.get("/api/v1/namespaces", headers={"Authorization": authorization})
    assert_error(response, 401, "unauthorized")


async def test_the_scheme_is_case_insensitive(anonymous: httpx.AsyncClient) -> None:
    from tests.keys import ADMIN_TOKEN

    response = await anonymous.get(
        "/api/v1/namespaces", headers={"Authorization": f"bearer  {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200


async def test_a_bad_body_without_a_token_is_still_401(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.put(
        secret_url("ns", "s"), content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 401, "unauthorized")


async def test_health_and_ready_need_no_token(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/api/v1/health")).json() == {"status": "ok"}
    assert (await anonymous.get("/api/v1/ready")).status_code == 200


CAPABILITY_OF = {
    ("PUT", "one"): "write",
    ("GET", "one"): "read",
    ("PATCH", "one"): "write",
    ("DELETE", "one"): "delete",
    ("GET", "list"): "list",
}


@pytest.mark.parametrize(
    ("request_kind", "capability"),
    list(itertools.product(CAPABILITY_OF, ["read", "write", "delete", "list", "audit", "admin"])),
)
async def test_each_secret_route_needs_its_own_capability(
    client: httpx.AsyncClient,
    token_client: TokenFactory,
    request_kind: tuple[str, str],
    capability: str,
) -> None:
    await put(client, "acme:prod", "s", metadata={"a": 1})
    holder = await token_client(["acme:*"], [capability])
    method, target = request_kind
    path = secret_url("acme:prod", "s") if target == "one" else secret_url("acme:prod")
    body = {"value": "v"} if method == "PUT" else {"ttl_ms": 1000} if method == "PATCH" else None
    response = await holder.request(method, path, json=body)
    if CAPABILITY_OF[request_kind] == capability:
        assert response.status_code in {200, 201}, response.text
    else:
        assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("patterns", "namespace", "allowed"),
    [
        (["acme:*"], "acme:prod", True),
        (["acme:*"], "acme", False),
        (["acme:*"], "acmex:prod", False),
        (["acme"], "acme", True),
        (["acme"], "acme:prod", False),
        (["*"], "anything", True),
        (["a_b*"], "a_b.c", True),
        (["a_b*"], "axb", False),
        (["team-1", "team-2"], "team-2", True),
        (["team-1", "team-2"], "team-3", False),
    ],
)
async def test_namespace_patterns_decide_where_a_token_acts(
    client: httpx.AsyncClient,
    token_client: TokenFactory,
    patterns: list[str],
    namespace: str,
    allowed: bool,
) -> None:
    await put(client, namespace, "s", "the value")
    holder = await token_client(patterns, ["read", "write", "delete", "list"])
    read = await holder.get(secret_url(namespace, "s"))
    listing = await holder.get(secret_url(namespace))
    write = await put(holder, namespace, "t")
    remove = await holder.delete(secret_url(namespace, "s"))
    if allowed:
        assert read.json()["value"] == "the value"
        assert listing.status_code == 200
        assert write.status_code == 201
        assert remove.json()["removed"] is True
    else:
        for response in (read, listing, write, remove):
            body = assert_error(response, 403, "forbidden")
            assert "the value" not in body["message"]


async def test_a_token_outside_the_namespace_cannot_tell_whether_a_secret_exists(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    await put(client, "private", "exists")
    outsider = await token_client(["public"], ["read"])
    present = await outsider.get(secret_url("private", "exists"))
    absent = await outsider.get(secret_url("private", "absent"))
    assert present.status_code == absent.status_code == 403
    assert present.json() == absent.json()


async def test_namespaces_shows_only_what_the_token_may_see(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    for namespace in ("acme:prod", "acme:dev", "other"):
        await put(client, namespace, "s")
    holder = await token_client(["acme:*"], ["list"])
    names = [item["namespace"] for item in (await holder.get("/api/v1/namespaces")).json()["items"]]
    assert names == ["acme:dev", "acme:prod"]
    reader = await token_client(["*"], ["read"])
    assert_error(await reader.get("/api/v1/namespaces"), 403, "forbidden")


async def test_admin_routes_need_the_admin_capability(
    token_client: TokenFactory, chains: object
) -> None:
    holder = await token_client(["*"], ["read", "write", "delete", "list", "audit"])
    for method, path, body in PROTECTED[11:]:
        response = await holder.request(method, path, json=body)
        assert_error(response, 403, "forbidden")


async def _listing_token(
    client: httpx.AsyncClient, app: Litestar, make_client: ClientFactory, **fields: object
) -> tuple[dict[str, Any], httpx.AsyncClient]:
    """A new token that may list, already used once (so a web process has it cached)."""
    created = (
        await client.post(
            "/api/v1/tokens",
            json={"name": "t", "namespaces": ["*"], "capabilities": ["list"], **fields},
        )
    ).json()
    holder = await make_client(app, token=created["token"])
    assert (await holder.get("/api/v1/namespaces")).status_code == 200
    return created, holder


async def test_a_revoked_token_is_refused_at_once(
    client: httpx.AsyncClient, app: Litestar, make_client: ClientFactory
) -> None:
    created, holder = await _listing_token(client, app, make_client)
    assert (await client.delete(f"/api/v1/tokens/{created['token_id']}")).status_code == 200
    assert_error(await holder.get("/api/v1/namespaces"), 401, "unauthorized")


async def test_a_token_revoked_elsewhere_is_refused(
    client: httpx.AsyncClient, app: Litestar, make_client: ClientFactory
) -> None:
    created, holder = await _listing_token(client, app, make_client)
    # The CLI, or another web process: a token service of its own.
    await TokenService().revoke(created["token_id"])
    async with asyncio.timeout(5):
        while (await holder.get("/api/v1/namespaces")).status_code == 200:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert_error(await holder.get("/api/v1/namespaces"), 401, "unauthorized")


@pytest.mark.slow
async def test_an_expired_token_is_refused(
    client: httpx.AsyncClient, app: Litestar, make_client: ClientFactory
) -> None:
    created, holder = await _listing_token(client, app, make_client, ttl_ms=2_000)
    expires_at = datetime.fromisoformat(created["expires_at"])
    await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.05)
    assert_error(await holder.get("/api/v1/namespaces"), 401, "unauthorized")


async def test_the_acting_token_is_the_actor_of_its_events(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    writer = await token_client(["*"], ["write"])
    await put(writer, "ns", "s")
    tokens = (await client.get("/api/v1/tokens")).json()["items"]
    events = (await client.get("/api/v1/events")).json()["items"]
    assert events[0]["actor"] == tokens[0]["token_id"]


async def test_without_an_admin_token_configured_the_bootstrap_token_is_unknown(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    from tests.keys import ADMIN_TOKEN

    environ = {k: v for k, v in environ.items() if k != "SECRET_STORE_ADMIN_TOKEN"}
    client = await make_client(make_app(environ), token=ADMIN_TOKEN)
    assert_error(await client.get("/api/v1/namespaces"), 401, "unauthorized")
