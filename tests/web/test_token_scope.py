"""What a namespace-scoped admin may do, and how long the tokens it makes may live.

Rotation and cleanup act on every namespace, so they need ``admin`` with the
pattern ``*``; a scoped admin lists and revokes only the tokens its patterns
cover; and no token makes one that outlives it. The API and the dashboard
answer alike.
"""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import redis
from litestar import Litestar

from tests.keys import ADMIN_TOKEN
from tests.web.conftest import ClientFactory
from tests.web.support import assert_error, csrf_header, sign_in, snapshot
from worker.chains import is_running

HOUR_MS = 3_600_000


async def make_token(
    client: httpx.AsyncClient,
    name: str,
    namespaces: list[str],
    capabilities: list[str],
    **fields: object,
) -> dict[str, str]:
    body = {"name": name, "namespaces": namespaces, "capabilities": capabilities, **fields}
    response = await client.post("/api/v1/tokens", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


async def scoped_admin(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory
) -> tuple[dict[str, str], httpx.AsyncClient]:
    created = await make_token(client, "acme admin", ["acme:*"], ["admin", "read", "list"])
    return created, await make_client(app, token=created["token"])


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_a_scoped_admin_can_neither_rotate_nor_clean_up(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory, chains: redis.Redis
) -> None:
    _, acme = await scoped_admin(app, client, make_client)
    assert_error(await acme.get("/api/v1/rotation"), 403, "forbidden")
    assert_error(await acme.post("/api/v1/rotation"), 403, "forbidden")
    for kind in ("secrets", "events"):
        response = await acme.post(f"/api/v1/cleanup/{kind}", json={"retention_ms": 1})
        assert_error(response, 403, "forbidden")
    for chain in ("rotation", "cleanup_secrets", "cleanup_events"):
        assert not is_running(chain)  # type: ignore[arg-type]
    # The same routes still answer an admin of every namespace.
    everywhere = await make_client(
        app, token=(await make_token(client, "root", ["*"], ["admin"]))["token"]
    )
    assert (await everywhere.get("/api/v1/rotation")).status_code == 200


async def test_a_scoped_admin_lists_only_the_tokens_it_covers(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    acme_admin, acme = await scoped_admin(app, client, make_client)
    await make_token(client, "acme prod", ["acme:prod"], ["read"])
    await make_token(client, "acme dev", ["acme:dev*"], ["read"])
    await make_token(client, "other", ["other:*"], ["read"])
    await make_token(client, "mixed", ["acme:prod", "other:prod"], ["read"])
    await make_token(client, "everything", ["*"], ["read"])
    listed = await acme.get("/api/v1/tokens")
    assert listed.status_code == 200, listed.text
    names = {item["name"] for item in listed.json()["items"]}
    assert names == {"acme admin", "acme prod", "acme dev"}
    everything = {item["name"] for item in (await client.get("/api/v1/tokens")).json()["items"]}
    assert names < everything and len(everything) == 6
    assert acme_admin["token_id"] in {item["token_id"] for item in listed.json()["items"]}


async def test_a_scoped_admin_revokes_only_the_tokens_it_covers(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    _, acme = await scoped_admin(app, client, make_client)
    covered = await make_token(client, "acme prod", ["acme:prod"], ["read"])
    for patterns in (["other:*"], ["acme:prod", "other:prod"], ["*"], ["acme*"]):
        outside = await make_token(client, "outside", patterns, ["list"])
        before = await snapshot()
        assert_error(await acme.delete(f"/api/v1/tokens/{outside['token_id']}"), 403, "forbidden")
        assert await snapshot() == before
        holder = await make_client(app, token=outside["token"])
        assert (await holder.get("/api/v1/namespaces")).status_code == 200
    revoked = await acme.delete(f"/api/v1/tokens/{covered['token_id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None


async def test_the_dashboard_keeps_a_scoped_admin_to_its_namespaces(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory, chains: redis.Redis
) -> None:
    acme_admin, _ = await scoped_admin(app, client, make_client)
    covered = await make_token(client, "acme-prod-reader", ["acme:prod"], ["read"])
    outside = await make_token(client, "other-reader", ["other:*"], ["read"])
    browser = await make_client(app, token=None)
    await sign_in(browser, acme_admin["token"])
    page = await browser.get("/tokens")
    assert page.status_code == 200
    assert "acme-prod-reader" in page.text and "other-reader" not in page.text
    fragment = await browser.get("/tokens/list")
    assert "acme-prod-reader" in fragment.text and "other-reader" not in fragment.text
    headers = csrf_header(browser)
    refused = await browser.delete(f"/tokens/{outside['token_id']}", headers=headers)
    assert refused.status_code == 403
    assert (
        await browser.delete(f"/tokens/{covered['token_id']}", headers=headers)
    ).status_code == 200
    assert (await browser.get("/settings")).status_code == 403
    assert (await browser.get("/settings/rotation")).status_code == 403
    assert (await browser.post("/settings/rotation", headers=headers)).status_code == 403
    for kind in ("secrets", "events"):
        response = await browser.post(
            f"/settings/cleanup/{kind}", data={"retention_days": "1"}, headers=headers
        )
        assert response.status_code == 403
    for chain in ("rotation", "cleanup_secrets", "cleanup_events"):
        assert not is_running(chain)  # type: ignore[arg-type]
    # Nor is there a link to a page it cannot open.
    assert 'href="/settings"' not in page.text


async def test_a_token_expires_no_later_than_its_creator(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    creator = await make_token(client, "hour", ["*"], ["admin", "read"], ttl_ms=HOUR_MS)
    hourly = await make_client(app, token=creator["token"])
    before = await snapshot()
    for fields in ({}, {"ttl_ms": None}, {"ttl_ms": 2 * HOUR_MS}):
        body = {"name": "longer", "namespaces": ["*"], "capabilities": ["read"], **fields}
        assert_error(await hourly.post("/api/v1/tokens", json=body), 403, "forbidden")
    assert await snapshot() == before
    shorter = await make_token(hourly, "shorter", ["*"], ["read"], ttl_ms=HOUR_MS // 2)
    assert parse_time(shorter["expires_at"]) <= parse_time(creator["expires_at"])
    # Just as long is not longer: the clock moved on since the creator was made.
    same = await make_token(hourly, "same", ["*"], ["read"], ttl_ms=HOUR_MS - 1000)
    assert parse_time(same["expires_at"]) <= parse_time(creator["expires_at"])


async def test_a_token_that_never_expires_and_the_bootstrap_admin_make_lasting_tokens(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    lasting = await make_token(client, "lasting", ["*"], ["admin", "read"])
    assert lasting["expires_at"] is None
    holder = await make_client(app, token=lasting["token"])
    assert (await make_token(holder, "child", ["*"], ["read"]))["expires_at"] is None


async def test_the_dashboard_refuses_a_token_outliving_its_creator(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory
) -> None:
    creator = await make_token(client, "hour", ["*"], ["admin", "read"], ttl_ms=HOUR_MS)
    browser = await make_client(app, token=None)
    await sign_in(browser, creator["token"])
    form = {"name": "forever", "namespaces": "*", "capabilities": ["read", "admin"]}
    before = await snapshot()
    for ttl_days in ("", "1"):
        response = await browser.post(
            "/tokens", data={**form, "ttl_days": ttl_days}, headers=csrf_header(browser)
        )
        assert response.status_code == 403, response.text
    assert await snapshot() == before


async def test_the_dashboard_creates_a_token_with_one_capability_ticked(
    app: Litestar, make_client: ClientFactory
) -> None:
    browser = await make_client(app, token=None)
    await sign_in(browser, ADMIN_TOKEN)
    form = {"name": "reader", "namespaces": "acme:*", "capabilities": "read", "ttl_days": ""}
    response = await browser.post("/tokens", data=form, headers=csrf_header(browser))
    assert response.status_code == 200, response.text
    tokens = (await snapshot())[2]
    assert [json.loads(t["capabilities"]) for t in tokens if t["name"] == "reader"] == [["read"]]
