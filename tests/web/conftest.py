"""Fixtures for the API tests: the real app over the session's PostgreSQL and Redis.

The app is driven through httpx's ASGI transport, on the test's own event loop,
where the session's database pool lives (Litestar's AsyncTestClient would run
it on a loop of its own). The app is built with ``manage_pool=False`` so that
its lifespan neither opens a second pool nor closes the session's one.
"""

from __future__ import annotations

import asyncio
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from litestar import Litestar
from litestar.exceptions import LitestarDeprecationWarning

from core.db import connect
from core.keys import define_keys
from core.runtime import build_runtime
from tests.keys import ADMIN_TOKEN, KEY_1, SESSION_SECRET
from tests.support import delete_prefix
from web.app import create_app
from web.ratelimit import FailureLimiter

# The chains' Redis keys get a prefix of this session's own unless the worker
# tests (collected in the same session) already chose one.
os.environ.setdefault("SECRET_STORE_REDIS_PREFIX", f"secretstore-webtest-{uuid.uuid4().hex[:12]}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Undeclared handler parameters warn in Litestar 2.2x; in these tests they fail.
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(
                pytest.mark.filterwarnings("error::litestar.exceptions.LitestarDeprecationWarning")
            )


@pytest.fixture
def environ(database_url: str, redis_url: str) -> dict[str, str]:
    session_prefix = os.environ["SECRET_STORE_REDIS_PREFIX"]
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_STORE_KEYS": define_keys({1: KEY_1}),
        "SECRET_STORE_ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_STORE_SESSION_SECRET": SESSION_SECRET,
        # The test's own, so failed-authentication counts and dashboard sessions
        # in Redis never carry over from one test (or test session) to another.
        "SECRET_STORE_REDIS_PREFIX": f"{session_prefix}-{uuid.uuid4().hex[:8]}",
    }


AppFactory = Callable[..., Litestar]


@pytest.fixture
def make_app(db: str) -> AppFactory:
    """Builds an app over a runtime of ``environ`` (the session pool stays the caller's).

    Its lifespan is not run (see ``make_client``), so its token cache is not
    started: the ``app`` fixture starts it.
    """

    def make(environ: dict[str, str], **options: Any) -> Litestar:
        with warnings.catch_warnings():
            warnings.simplefilter("error", LitestarDeprecationWarning)
            return create_app(build_runtime(environ), manage_pool=False, **options)

    return make


@pytest.fixture
async def app(make_app: AppFactory, environ: dict[str, str]) -> AsyncIterator[Litestar]:
    """The app as a web process runs it: its token cache listening for revocations."""
    app = make_app(environ)
    cache = app.state["runtime"].tokens.cache
    cache.start(connect)
    async with asyncio.timeout(10):
        while not cache.listening:  # noqa: ASYNC110 (the cache's own task connects)
            await asyncio.sleep(0.01)
    yield app
    await cache.stop()


ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Clients for an app: ``await make_client(app, token=..., client_ip=...)``.

    The app's lifespan is not run: with ``manage_pool=False`` the API needs no
    start-up, and anyio's task groups cannot span a fixture's setup and teardown.
    """
    opened: list[httpx.AsyncClient] = []

    async def make(
        app: Litestar,
        *,
        token: str | None = ADMIN_TOKEN,
        client_ip: str = "127.0.0.1",
        scheme: str = "http",
    ) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        client = httpx.AsyncClient(
            transport=transport, base_url=f"{scheme}://testserver", headers=headers
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def client(app: Litestar, make_client: ClientFactory) -> httpx.AsyncClient:
    """An admin client (the bootstrap token)."""
    return await make_client(app)


@pytest.fixture
async def anonymous(app: Litestar, make_client: ClientFactory) -> httpx.AsyncClient:
    return await make_client(app, token=None)


TokenFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
def token_client(
    app: Litestar, client: httpx.AsyncClient, make_client: ClientFactory
) -> TokenFactory:
    """A client holding a new token: ``await token_client(["acme:*"], ["read"])``."""

    async def make(namespaces: list[str], capabilities: list[str]) -> httpx.AsyncClient:
        response = await client.post(
            "/api/v1/tokens",
            json={"name": "test", "namespaces": namespaces, "capabilities": capabilities},
        )
        assert response.status_code == 201, response.text
        return await make_client(app, token=response.json()["token"])

    return make


@pytest.fixture
def generous_limiter() -> FailureLimiter:
    """A limiter that never trips, for tests that fail authentication on purpose."""
    return FailureLimiter(max_failures=1_000_000)


@pytest.fixture
def chains(redis_url: str) -> Iterator[redis.Redis]:
    """The worker's broker on the session's Redis, with this session's chain keys emptied."""
    from worker.broker import installed

    setup = installed(redis_url)
    prefix = setup.config.redis_prefix
    delete_prefix(setup.client, prefix)
    yield setup.client
    delete_prefix(setup.client, prefix)
