"""The in-memory token cache stays exact: revocation from any process, expiry, a lost listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from core.access import Principal
from core.db import connect, fetch
from core.errors import SecretStoreError
from core.tokencache import CachedToken, TokenCache
from core.tokens import TokenService, hash_token
from tests.core.conftest import FakeClock


async def eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not check():  # noqa: ASYNC110 (state another task changes)
            await asyncio.sleep(0.01)


async def revoke_behind_its_back(token_id: str) -> None:
    """Revoke in the table without the notice, as no path of the product does."""
    await fetch("UPDATE api_tokens SET revoked_at = now() WHERE id = $1::uuid", token_id)


@pytest.fixture
async def service(db: str, clock: FakeClock) -> AsyncIterator[TokenService]:
    """A web process's token service: its cache started and listening."""
    tokens = TokenService(clock=clock, cache=TokenCache(check_interval_s=0.2, retry_s=0.05))
    tokens.cache.start(connect)
    await eventually(lambda: tokens.cache.listening)
    yield tokens
    await tokens.cache.stop()


async def test_a_checked_token_is_answered_from_memory(service: TokenService) -> None:
    created = await service.create("app", ["acme"], ["read"])
    assert await service.authenticate(created.token) is not None
    assert len(service.cache) == 1
    # Proof that the second check does not read the table: a change no notice
    # announces is not seen (the product never changes a token this way).
    await revoke_behind_its_back(created.info.token_id)
    assert await service.authenticate(created.token) is not None


async def test_a_token_revoked_by_another_process_is_refused(service: TokenService) -> None:
    created = await service.create("app", ["acme"], ["read"])
    assert await service.authenticate(created.token) is not None
    # Another process (the CLI, another web process): its own service and an unstarted cache.
    await TokenService().revoke(created.info.token_id)
    await eventually(lambda: len(service.cache) == 0)
    assert await service.authenticate(created.token) is None


async def test_a_token_revoked_here_is_refused_when_revoke_returns(
    service: TokenService,
) -> None:
    created = await service.create("app", ["acme"], ["read"])
    assert await service.authenticate(created.token) is not None
    revoked = await service.revoke(created.info.token_id)
    assert revoked.revoked_at is not None
    assert await service.authenticate(created.token) is None


async def test_revoking_an_unknown_token_is_not_found_and_sends_nothing(
    service: TokenService,
) -> None:
    with pytest.raises(SecretStoreError, match="no such token"):
        await service.revoke("7d3c1a52-8a0f-4c53-9b7e-0f4f1b3f6a11")


async def test_a_cached_token_expires_on_time(service: TokenService, clock: FakeClock) -> None:
    created = await service.create("app", ["acme"], ["read"], ttl_ms=60_000)
    assert await service.authenticate(created.token) is not None
    assert len(service.cache) == 1
    clock.advance(seconds=59)
    assert await service.authenticate(created.token) is not None
    clock.advance(seconds=1)
    assert await service.authenticate(created.token) is None
    assert len(service.cache) == 0


async def test_unknown_and_revoked_tokens_are_never_kept(service: TokenService) -> None:
    assert await service.authenticate("sst_" + "x" * 43) is None
    created = await service.create("app", ["acme"], ["read"])
    await service.revoke(created.info.token_id)
    assert await service.authenticate(created.token) is None
    assert len(service.cache) == 0


async def test_a_lost_listener_sends_every_check_to_the_table(service: TokenService) -> None:
    created = await service.create("app", ["acme"], ["read"])
    assert await service.authenticate(created.token) is not None
    # Other token caches (a web process another test started) may listen on the
    # same database under the same application name: end this cache's own.
    connection = service.cache._connection
    assert connection is not None
    await fetch("SELECT pg_terminate_backend($1)", connection.get_server_pid())
    await eventually(lambda: not service.cache.listening)
    # Without a listener a revocation could go unseen, so nothing is answered from memory.
    await revoke_behind_its_back(created.info.token_id)
    assert await service.authenticate(created.token) is None
    # It listens again on a new connection, starting empty.
    await eventually(lambda: service.cache.listening)
    assert len(service.cache) == 0
    assert await service.authenticate(created.token) is None


async def test_a_cache_that_was_never_started_never_answers(db: str) -> None:
    tokens = TokenService()
    created = await tokens.create("app", ["acme"], ["read"])
    assert await tokens.authenticate(created.token) is not None
    assert len(tokens.cache) == 0
    await revoke_behind_its_back(created.info.token_id)
    assert await tokens.authenticate(created.token) is None


def _entry(token_id: str) -> CachedToken:
    principal = Principal(token_id, token_id, patterns=("*",), capabilities=frozenset())
    return CachedToken(principal, expires_at=None)


def _listening_cache(max_entries: int = 10) -> TokenCache:
    cache = TokenCache(max_entries=max_entries)
    cache._listening = True  # as once its connection listens
    return cache


def test_a_lookup_older_than_a_notice_is_not_kept() -> None:
    cache = _listening_cache()
    generation = cache.generation  # a lookup starts and reads the table ...
    cache.forget("t1")  # ... a revocation notice arrives meanwhile ...
    cache.remember(hash_token("a"), _entry("t1"), generation)  # ... then it returns
    assert cache.lookup(hash_token("a")) is None
    cache.remember(hash_token("a"), _entry("t1"), cache.generation)
    assert cache.lookup(hash_token("a")) is not None


def test_the_cache_keeps_the_most_recently_used_tokens_up_to_its_bound() -> None:
    cache = _listening_cache(max_entries=2)
    for name in ("a", "b"):
        cache.remember(hash_token(name), _entry(name), cache.generation)
    assert cache.lookup(hash_token("a")) is not None  # "b" is now the least recently used
    cache.remember(hash_token("c"), _entry("c"), cache.generation)
    assert len(cache) == 2
    assert cache.lookup(hash_token("b")) is None
    assert cache.lookup(hash_token("a")) is not None
    cache.forget("a")
    assert cache.lookup(hash_token("a")) is None


@pytest.mark.timeout(30)
def test_a_stopped_cache_starts_again_on_another_event_loop(db: str) -> None:
    cache = TokenCache(retry_s=0.05)

    async def listen_then_stop() -> None:
        cache.start(connect)
        await eventually(lambda: cache.listening)
        await cache.stop()
        assert not cache.listening

    asyncio.run(listen_then_stop())
    asyncio.run(listen_then_stop())
