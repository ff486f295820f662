"""Health, readiness, and what the API answers while a backing part is broken."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from core.db import DB
from tests.web.conftest import AppFactory, ClientFactory
from tests.web.support import assert_error, put, secret_url


async def test_health_is_ok(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers_and_the_keys_parse(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/api/v1/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "keys": "ok"}}


@pytest.mark.parametrize(
    "keys",
    [
        "",
        "1:short",
        "1:" + "A" * 42 + "B=",  # decodes to 32 bytes but is not canonical
        "01:" + "A" * 44,
        "garbage-without-colon",
    ],
)
async def test_invalid_keys_make_ready_503_and_secrets_503_invalid_keys(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str], keys: str
) -> None:
    client = await make_client(make_app({**environ, "SECRET_STORE_KEYS": keys}))
    ready = await client.get("/api/v1/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable" and body["code"] == "invalid_keys"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["keys"].startswith("invalid: ")
    for response in (
        await put(client, "ns", "s"),
        await client.get(secret_url("ns", "s")),
        await client.get("/api/v1/rotation"),
    ):
        assert_error(response, 503, "invalid_keys")
    key_text = keys.partition(":")[2]
    if key_text:
        # No part of the configured key comes back.
        for response in (ready, await put(client, "ns", "s")):
            assert key_text[-8:] not in response.text
    # What needs no key still works.
    assert (await client.get(secret_url("ns"))).status_code == 200
    assert (await client.delete(secret_url("ns", "s"))).status_code == 200


async def test_missing_keys_make_ready_503(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    without = {k: v for k, v in environ.items() if k != "SECRET_STORE_KEYS"}
    response = await (await make_client(make_app(without))).get("/api/v1/ready")
    assert response.status_code == 503
    assert "SECRET_STORE_KEYS" in response.json()["checks"]["keys"]


@pytest.fixture
def database_down(db: str) -> Iterator[None]:
    """The database unreachable: no pool, and the address a closed port."""
    pool, config = DB.pool, DB.config
    DB.pool = None
    DB.config = {"dsn": "postgresql://nobody@127.0.0.1:1/none", "timeout": 2}
    try:
        yield
    finally:
        DB.pool, DB.config = pool, config


async def test_with_the_database_down_ready_and_the_api_are_503_unavailable(
    app: object, make_client: ClientFactory, database_down: None
) -> None:
    client = await make_client(app)  # type: ignore[arg-type]
    ready = await client.get("/api/v1/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["code"] == "unavailable" and body["checks"]["keys"] == "ok"
    assert body["checks"]["database"].startswith("unavailable")
    assert "127.0.0.1" not in ready.text and "nobody" not in ready.text
    # Authentication itself needs the database for API tokens.
    unknown = await make_client(app, token="sst_unknown")  # type: ignore[arg-type]
    assert_error(await unknown.get("/api/v1/namespaces"), 503, "unavailable")
    # The bootstrap token does not, so the failure is the store's.
    assert_error(await put(client, "ns", "s"), 503, "unavailable")
    assert_error(await client.get(secret_url("ns", "s")), 503, "unavailable")
