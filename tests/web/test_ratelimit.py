"""Failed authentication is limited per client: 10 a minute, then 429 until the window slides."""

from __future__ import annotations

import httpx
from litestar import Litestar

from tests.keys import ADMIN_TOKEN
from tests.web.conftest import AppFactory, ClientFactory
from tests.web.support import assert_error
from web.ratelimit import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_eleventh_failure_in_a_window_is_over_the_limit() -> None:
    clock = Clock()
    limiter = FailureLimiter(10, 60, clock=clock)
    for _ in range(10):
        assert limiter.record_failure("a") is None
        clock.now += 1
    assert limiter.retry_after("a") is not None
    wait = limiter.record_failure("a")
    assert wait is not None and 0 < wait <= 60


def test_the_window_slides() -> None:
    clock = Clock()
    limiter = FailureLimiter(3, 60, clock=clock)
    for step in (0, 10, 20):
        clock.now = 1000 + step
        limiter.record_failure("a")
    clock.now = 1059
    assert limiter.retry_after("a") == 1
    clock.now = 1060
    # the first failure has left the window: one more is allowed
    assert limiter.retry_after("a") is None
    assert limiter.record_failure("a") is None
    assert limiter.record_failure("a") is not None


def test_a_client_that_keeps_failing_faster_than_the_limit_stays_refused() -> None:
    clock = Clock()
    limiter = FailureLimiter(2, 60, clock=clock)
    limiter.record_failure("a")
    limiter.record_failure("a")
    for _ in range(30):
        clock.now += 10
        assert limiter.record_failure("a") is not None


def test_clients_are_counted_apart_and_reset_forgets() -> None:
    limiter = FailureLimiter(1, 60)
    limiter.record_failure("a")
    assert limiter.retry_after("a") is not None
    assert limiter.retry_after("b") is None
    limiter.reset("a")
    assert limiter.retry_after("a") is None


def test_the_number_of_clients_tracked_is_bounded() -> None:
    limiter = FailureLimiter(1, 60, max_clients=3)
    for client in "abcd":
        limiter.record_failure(client)
    assert limiter.retry_after("a") is None  # evicted, the least recently seen
    assert all(limiter.retry_after(client) is not None for client in "bcd")


async def test_ten_failed_authentications_then_429_with_retry_after(
    app: Litestar, make_client: ClientFactory
) -> None:
    guesser = await make_client(app, token="sst_wrong")
    for _ in range(10):
        assert_error(await guesser.get("/api/v1/namespaces"), 401, "unauthorized")
    response = await guesser.get("/api/v1/namespaces")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


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


async def test_successful_requests_are_never_limited(client: httpx.AsyncClient) -> None:
    for _ in range(30):
        assert (await client.get("/api/v1/namespaces")).status_code == 200


async def test_the_app_uses_the_limiter_it_is_given(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str]
) -> None:
    app = make_app(environ, failure_limiter=FailureLimiter(max_failures=2))
    guesser = await make_client(app, token="sst_wrong")
    await guesser.get("/api/v1/namespaces")
    await guesser.get("/api/v1/namespaces")
    assert_error(await guesser.get("/api/v1/namespaces"), 429, "rate_limited")
