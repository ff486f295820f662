"""The asyncio client against the real web process: the same surface, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from secretstore_client import AsyncSecretStoreClient, Conflict, Expired, NotFound

from tests.client.support import ADMIN_TOKEN


@pytest.fixture
async def aclient(service: str) -> AsyncIterator[AsyncSecretStoreClient]:
    async with AsyncSecretStoreClient(service, ADMIN_TOKEN) as client:
        yield client


async def test_put_get_update_and_delete(aclient: AsyncSecretStoreClient, ns: str) -> None:
    created = await aclient.put(ns, "NAME", "one\n'two'", metadata={"owner": "me"})
    replaced = await aclient.put(ns, "NAME", "three")
    assert created.created and not replaced.created
    secret = await aclient.get(ns, "NAME")
    assert (secret.value, secret.metadata) == ("three", {"owner": "me"})

    updated = await aclient.update(ns, "NAME", metadata=None, ttl_ms=60_000)
    assert updated.metadata is None and updated.expires_at is not None

    assert (await aclient.delete(ns, "NAME")).removed
    with pytest.raises(NotFound):
        await aclient.get(ns, "NAME")


async def test_list_follows_every_page(aclient: AsyncSecretStoreClient, ns: str) -> None:
    for index in range(11):
        await aclient.put(ns, f"N{index}", "v")
    names = [info.name async for info in aclient.list(ns, page_size=3)]
    assert sorted(names) == sorted(f"N{index}" for index in range(11))


async def test_get_many_reads_every_active_secret(aclient: AsyncSecretStoreClient, ns: str) -> None:
    expected = {f"VAR_{index:03d}": f"value {index}" for index in range(120)}
    for name, value in expected.items():
        await aclient.put(ns, name, value)
    await aclient.put(ns, "EXPIRED", "v", ttl_ms=1)

    assert await aclient.get_many(ns) == expected
    with pytest.raises(Expired):
        await aclient.get(ns, "EXPIRED")


async def test_namespaces_events_and_tokens(aclient: AsyncSecretStoreClient, ns: str) -> None:
    await aclient.put(ns, "A", "v")
    assert ns in {count.namespace for count in await aclient.namespaces()}
    assert [event.type async for event in aclient.events(namespace=ns)] == ["created"]

    created = await aclient.create_token("async", [ns], ["read"])
    assert created.info.token_id in {token.token_id for token in await aclient.list_tokens()}
    assert (await aclient.revoke_token(created.info.token_id)).revoked_at is not None


async def test_versions_history_rollback_delete_and_restore(
    aclient: AsyncSecretStoreClient, ns: str
) -> None:
    assert (await aclient.put(ns, "V", "one")).version == 1
    await aclient.put(ns, "V", "two")
    with pytest.raises(Conflict) as refused:
        await aclient.put(ns, "V", "three", if_version=1)
    assert refused.value.current_version == 2

    rolled = await aclient.rollback(ns, "V", 1)
    assert rolled.version == 3 and (await aclient.get(ns, "V")).value == "one"
    assert (await aclient.get(ns, "V", version=2)).value == "two"
    assert [version.version for version in await aclient.history(ns, "V")] == [3, 2, 1]

    assert (await aclient.delete(ns, "V")).restorable_until is not None
    assert [info.name async for info in aclient.list(ns, deleted=True)] == ["V"]
    assert (await aclient.restore(ns, "V")).version == 3
    assert (await aclient.get(ns, "V")).value == "one"

    assert (await aclient.delete(ns, "V", purge=True)).purged
    with pytest.raises(NotFound):
        await aclient.restore(ns, "V")
