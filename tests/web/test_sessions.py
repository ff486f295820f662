"""Dashboard sessions in the real Redis: unforgeable, unreadable, bounded in time.

A session is stored under a hash of its id, as a record authenticated with
``SECRET_STORE_SESSION_SECRET``: someone who can read Redis learns no cookie,
and someone who can write to it cannot make one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import redis
from litestar import Litestar

from tests.keys import ADMIN_TOKEN
from tests.web.conftest import AppFactory, ClientFactory
from tests.web.support import (
    SESSION_COOKIE,
    csrf_header,
    sign_in,
    signed_in,
)


@pytest.fixture
def valkey(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def session_keys(valkey: redis.Redis, environ: dict[str, str]) -> list[str]:
    prefix = environ["SECRET_STORE_REDIS_PREFIX"]
    return [key.decode() for key in valkey.scan_iter(match=f"{prefix}:dashboard:sessions:*")]


def sessions_prefix(environ: dict[str, str]) -> str:
    return f"{environ['SECRET_STORE_REDIS_PREFIX']}:dashboard:sessions"


async def browser_with(app: Litestar, make_client: ClientFactory, cookie: str) -> httpx.AsyncClient:
    browser = await make_client(app, token=None)
    browser.cookies.set(SESSION_COOKIE, cookie)
    return browser


async def api_token(client: httpx.AsyncClient, **fields: object) -> str:
    body = {"name": "person", "namespaces": ["*"], "capabilities": ["list", "read"], **fields}
    response = await client.post("/api/v1/tokens", json=body)
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def test_a_session_written_into_redis_by_hand_signs_no_one_in(
    app: Litestar, make_client: ClientFactory, valkey: redis.Redis, environ: dict[str, str]
) -> None:
    forged_id = "ab" * 32
    plain = json.dumps({"token_id": "bootstrap-admin"})
    hashed = hashlib.sha256(forged_id.encode()).hexdigest()
    # The old layout (the cookie as the key), then the new key with no valid MAC.
    for key, value in (
        (forged_id, plain),
        (hashed, plain),
        (hashed, "0" * 64 + "." + plain),
    ):
        valkey.set(f"{sessions_prefix(environ)}:{key}", value, ex=60)
        browser = await browser_with(app, make_client, forged_id)
        assert not await signed_in(browser), (key, value)


async def test_a_record_copied_to_another_key_signs_no_one_in(
    app: Litestar, make_client: ClientFactory, valkey: redis.Redis, environ: dict[str, str]
) -> None:
    await sign_in(await make_client(app, token=None), ADMIN_TOKEN)
    [key] = session_keys(valkey, environ)
    record = valkey.get(key)
    assert record is not None
    chosen = "cd" * 32
    valkey.set(f"{sessions_prefix(environ)}:{hashlib.sha256(chosen.encode()).hexdigest()}", record)
    assert not await signed_in(await browser_with(app, make_client, chosen))


async def test_the_cookie_never_appears_in_redis(
    app: Litestar, make_client: ClientFactory, valkey: redis.Redis, environ: dict[str, str]
) -> None:
    browser = await make_client(app, token=None)
    cookie = await sign_in(browser, ADMIN_TOKEN)
    assert await signed_in(browser)
    keys = session_keys(valkey, environ)
    assert len(keys) == 1
    everything = [key.decode() for key in valkey.scan_iter(match="*")]
    assert not [key for key in everything if cookie in key]
    assert cookie.encode() not in (valkey.get(keys[0]) or b"")


async def test_changing_the_admin_token_ends_bootstrap_sessions_only(
    app: Litestar,
    make_app: AppFactory,
    make_client: ClientFactory,
    client: httpx.AsyncClient,
    environ: dict[str, str],
) -> None:
    admin_cookie = await sign_in(await make_client(app, token=None), ADMIN_TOKEN)
    person_cookie = await sign_in(await make_client(app, token=None), await api_token(client))
    restarted = make_app({**environ, "SECRET_STORE_ADMIN_TOKEN": ADMIN_TOKEN + "-changed"})
    assert not await signed_in(await browser_with(restarted, make_client, admin_cookie))
    # A session of an API token follows that token's own life, not the admin token's.
    assert await signed_in(await browser_with(restarted, make_client, person_cookie))


@pytest.mark.slow
async def test_the_absolute_lifetime_ends_a_busy_session(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str], db: str
) -> None:
    app = make_app({**environ, "SECRET_STORE_SESSION_LIFETIME_SECONDS": "2"})
    browser = await make_client(app, token=None)
    await sign_in(browser, ADMIN_TOKEN)
    started = time.monotonic()
    while time.monotonic() - started < 6:
        if not await signed_in(browser):
            break
        await asyncio.sleep(0.2)
    lasted = time.monotonic() - started
    assert 1.5 <= lasted < 4, lasted


async def test_a_request_in_flight_at_logout_does_not_bring_the_session_back(
    app: Litestar,
    make_client: ClientFactory,
    client: httpx.AsyncClient,
    valkey: redis.Redis,
    environ: dict[str, str],
    database_url: str,
) -> None:
    browser = await make_client(app, token=None)
    cookie = await sign_in(browser, await api_token(client))
    assert await signed_in(browser)
    # Each dashboard request reads the session's token from api_tokens: holding
    # an exclusive lock on the table keeps one request in flight, deterministically.
    blocker = await asyncpg.connect(database_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE")
        slow = asyncio.create_task(browser.get("/secrets"))
        async with asyncio.timeout(10):
            while not await blocker.fetchval(  # noqa: ASYNC110 (polling another server)
                "SELECT count(*) FROM pg_locks"
                " WHERE relation = 'api_tokens'::regclass AND NOT granted"
            ):
                await asyncio.sleep(0.02)
        logout = await browser.post("/logout", headers=csrf_header(browser))
        assert logout.status_code == 303, logout.text
        assert session_keys(valkey, environ) == []
        await transaction.rollback()
        await asyncio.wait_for(slow, 10)
    finally:
        await blocker.close()
    assert session_keys(valkey, environ) == []
    assert not await signed_in(await browser_with(app, make_client, cookie))
