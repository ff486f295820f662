"""Failed authentication is limited per client: 10 a minute, then 429, counted across processes."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar

from tests.keys import ADMIN_TOKEN
from tests.web.conftest import AppFactory, ClientFactory
from tests.web.support import assert_error
from web.ratelimit import FailureLimiter, client_key

NOWHERE = "redis://127.0.0.1:1/0"  # a closed port: Redis is down


async def fail(client: httpx.AsyncClient, times: int) -> None:
    for _ in range(times):
        assert_error(await client.get("/api/v1/namespaces"), 401, "unauthorized")


def test_a_client_is_its_ipv4_address_or_its_ipv6_64() -> None:
    assert client_key("10.0.0.1") == "10.0.0.1"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_key("testclient") == "testclient"


async def test_ten_failed_authentications_then_429_with_retry_after(
    app: Litestar, make_client: ClientFactory
) -> None:
    guesser = await make_client(app, token="sst_wrong")
    await fail(guesser, 10)
    response = await guesser.get("/api/v1/namespaces")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_the_count_is_shared_by_every_web_process(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    # Two apps with their own Redis clients, as two web processes have.
    first, second = make_app(environ), make_app(environ)
    await fail(await make_client(first, token="sst_wrong", client_ip="10.0.0.7"), 5)
    await fail(await make_client(second, token="sst_wrong", client_ip="10.0.0.7"), 5)
    again = await make_client(first, token="sst_wrong", client_ip="10.0.0.7")
    assert_error(await again.get("/api/v1/namespaces"), 429, "rate_limited")


async def test_addresses_of_one_ipv6_64_share_a_count(
    app: Litestar, make_client: ClientFactory
) -> None:
    for host in range(1, 11):
        guesser = await make_client(app, token="sst_wrong", client_ip=f"2001:db8:0:7::{host:x}")
        await fail(guesser, 1)
    same_64 = await make_client(app, token="sst_wrong", client_ip="2001:db8:0:7:ffff::1")
    assert_error(await same_64.get("/api/v1/namespaces"), 429, "rate_limited")
    other_64 = await make_client(app, token="sst_wrong", client_ip="2001:db8:0:8::1")
    assert_error(await other_64.get("/api/v1/namespaces"), 401, "unauthorized")


async def test_the_limit_is_per_client_and_spares_valid_tokens(
    app: Litestar, make_client: ClientFactory
) -> None:
    guesser = await make_client(app, token="sst_wrong", client_ip="10.0.0.1")
    for _ in range(11):
        await guesser.get("/api/v1/namespaces")
    assert_error(await guesser.get("/api/v1/namespaces"), 429, "rate_limited")
    # Another client is not affected.
    other = await make_client(app, token="sst_wrong", client_ip="10.0.0.2")
    assert_error(await other.get("/api/v1/namespaces"), 401, "unauthorized")
    # A valid token from the limited address still works: successes are not limited.
    same_address = await make_client(app, token=ADMIN_TOKEN, client_ip="10.0.0.1")
    assert (await same_address.get("/api/v1/namespaces")).status_code == 200


async def test_requests_without_a_token_are_not_counted(
    app: Litestar, make_client: ClientFactory
) -> None:
    anonymous = await make_client(app, token=None)
    for _ in range(20):
        assert_error(await anonymous.get("/api/v1/namespaces"), 401, "unauthorized")
    guesser = await make_client(app, token="sst_wrong")
    await fail(guesser, 10)


async def test_successful_requests_are_never_limited(client: httpx.AsyncClient) -> None:
    for _ in range(30):
        assert (await client.get("/api/v1/namespaces")).status_code == 200


async def test_the_app_uses_the_limiter_it_is_given(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    app = make_app(environ, failure_limiter=FailureLimiter(max_failures=2))
    guesser = await make_client(app, token="sst_wrong")
    await fail(guesser, 2)
    assert_error(await guesser.get("/api/v1/namespaces"), 429, "rate_limited")


@pytest.fixture
async def redis_down_app(make_app: AppFactory, environ: dict[str, str]) -> AsyncIterator[Litestar]:
    # Built in the fixture: the app configures logging, which the test's log
    # capture must come after.
    app = make_app({**environ, "REDIS_URL": NOWHERE})
    yield app
    await app.state["auth_failure_limiter"].close()


async def test_with_redis_down_failures_are_401_uncounted_and_logged_once(
    redis_down_app: Litestar, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    guesser = await make_client(redis_down_app, token="sst_wrong")
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="secretstore.ratelimit"):
        await fail(guesser, 25)
    assert time.monotonic() - started < 10  # no request waits on the missing Redis
    warnings = [r for r in caplog.records if r.name == "secretstore.ratelimit"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "Redis" in warnings[0].getMessage()
    # A valid token is never refused, Redis or not.
    admin = await make_client(redis_down_app, token=ADMIN_TOKEN)
    assert (await admin.get("/api/v1/namespaces")).status_code == 200


async def test_the_dashboard_login_shares_the_api_count(
    app: Litestar, make_client: ClientFactory
) -> None:
    browser = await make_client(app, token=None, client_ip="10.0.0.9")
    guesser = await make_client(app, token="sst_wrong", client_ip="10.0.0.9")
    await fail(guesser, 10)
    page = await browser.get("/login")
    csrf = page.cookies.get("secretstore_csrf")
    response = await browser.post(
        "/login", data={"token": "sst_wrong"}, headers={"x-csrftoken": csrf or ""}
    )
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
