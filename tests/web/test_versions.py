"""Versions, compare-and-set, soft delete, restore and rollback through the HTTP API."""

from __future__ import annotations

import asyncio

import httpx

from core.db import fetch
from tests.web.support import assert_error, put, secret_url, snapshot


async def test_every_put_is_a_version_with_its_etag_and_earlier_ones_stay_readable(
    client: httpx.AsyncClient,
) -> None:
    first = await put(client, "ns", "k", "one")
    second = await put(client, "ns", "k", "two")
    assert (first.json()["version"], first.headers["etag"]) == (1, '"1"')
    assert (second.json()["version"], second.headers["etag"]) == (2, '"2"')
    current = await client.get(secret_url("ns", "k"))
    assert current.json()["value"] == "two" and current.headers["etag"] == '"2"'
    older = await client.get(secret_url("ns", "k"), params={"version": 1})
    assert older.json()["value"] == "one" and older.json()["version"] == 1
    assert older.headers["etag"] == '"1"'
    assert_error(await client.get(secret_url("ns", "k"), params={"version": 3}), 404, "not_found")
    assert_error(
        await client.get(secret_url("ns", "k"), params={"version": 0}), 400, "invalid_argument"
    )
    history = (await client.get(secret_url("ns", "k") + "/versions")).json()
    assert [(i["version"], i["current"]) for i in history["items"]] == [(2, True), (1, False)]


async def test_patch_makes_no_version(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "k", "one")
    await client.patch(secret_url("ns", "k"), json={"metadata": {"a": 1}})
    assert (await client.get(secret_url("ns", "k"))).json()["version"] == 1


async def test_a_failed_precondition_writes_nothing_and_names_the_current_version(
    client: httpx.AsyncClient,
) -> None:
    await put(client, "ns", "k", "one")
    before = await snapshot()
    stale = await client.put(
        secret_url("ns", "k"), json={"value": "x"}, headers={"If-Match": '"7"'}
    )
    assert assert_error(stale, 409, "conflict")["current_version"] == 1
    exists = await client.put(
        secret_url("ns", "k"), json={"value": "x"}, headers={"If-None-Match": "*"}
    )
    assert assert_error(exists, 409, "conflict")["current_version"] == 1
    absent = await client.put(
        secret_url("ns", "new"), json={"value": "x"}, headers={"If-Match": '"1"'}
    )
    assert assert_error(absent, 409, "conflict")["current_version"] is None
    bad = await client.put(secret_url("ns", "k"), json={"value": "x"}, headers={"If-Match": "1"})
    assert_error(bad, 400, "invalid_argument")
    assert await snapshot() == before
    ok = await client.put(secret_url("ns", "k"), json={"value": "x"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["version"] == 2


async def test_fifty_concurrent_puts_with_the_same_if_match_let_exactly_one_through(
    client: httpx.AsyncClient,
) -> None:
    await put(client, "ns", "race", "start")
    answers = await asyncio.gather(
        *(
            client.put(
                secret_url("ns", "race"), json={"value": f"v{i}"}, headers={"If-Match": '"1"'}
            )
            for i in range(50)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 49
    assert {a.json()["current_version"] for a in answers if a.status_code == 409} == {2}
    rows = await fetch("SELECT count(*) AS n FROM secret_versions")
    assert rows[0]["n"] == 2


async def test_rollback_writes_the_old_value_as_a_new_version(client: httpx.AsyncClient) -> None:
    await put(client, "ns", "k", "good", metadata={"m": 1})
    await put(client, "ns", "k", "bad")
    rolled = await client.post(secret_url("ns", "k") + "/rollback", json={"version": 1})
    assert rolled.status_code == 200 and rolled.json()["version"] == 3
    read = (await client.get(secret_url("ns", "k"))).json()
    assert read["value"] == "good" and read["metadata"] == {"m": 1}
    events = (await client.get("/api/v1/events", params={"type": "updated"})).json()["items"]
    assert events[0]["detail"] == {"changed": ["value"], "version": 3, "rolled_back_from": 1}
    missing = await client.post(secret_url("ns", "k") + "/rollback", json={"version": 9})
    assert_error(missing, 404, "not_found")
    stale = await client.post(
        secret_url("ns", "k") + "/rollback", json={"version": 1}, headers={"If-Match": '"2"'}
    )
    assert assert_error(stale, 409, "conflict")["current_version"] == 3


async def test_old_versions_are_pruned_by_the_write(client: httpx.AsyncClient) -> None:
    for i in range(12):
        await put(client, "ns", "k", f"v{i}")
    history = (await client.get(secret_url("ns", "k") + "/versions")).json()["items"]
    assert [i["version"] for i in history] == list(range(12, 2, -1))
    assert_error(
        await client.post(secret_url("ns", "k") + "/rollback", json={"version": 1}),
        404,
        "not_found",
    )


async def test_delete_is_soft_restore_brings_it_back_and_purge_destroys(
    client: httpx.AsyncClient,
) -> None:
    await put(client, "ns", "k", "one")
    await put(client, "ns", "k", "two")
    removed = (await client.delete(secret_url("ns", "k"))).json()
    assert removed["removed"] is True and removed["purged"] is False
    assert removed["restorable_until"]
    assert_error(await client.get(secret_url("ns", "k")), 404, "not_found")
    assert (await client.get(secret_url("ns"))).json()["items"] == []
    deleted = (await client.get(secret_url("ns"), params={"state": "deleted"})).json()["items"]
    assert [(i["name"], i["state"]) for i in deleted] == [("k", "deleted")]
    assert deleted[0]["restorable_until"] == removed["restorable_until"]
    counts = (await client.get("/api/v1/namespaces")).json()["items"]
    assert all(c["namespace"] != "ns" for c in counts)
    assert len((await client.get(secret_url("ns", "k") + "/versions")).json()["items"]) == 2

    restored = await client.post(secret_url("ns", "k") + "/restore")
    assert restored.status_code == 200 and restored.json()["version"] == 2
    assert (await client.get(secret_url("ns", "k"))).json()["value"] == "two"
    assert_error(await client.post(secret_url("ns", "k") + "/restore"), 409, "conflict")

    purged = (await client.delete(secret_url("ns", "k"), params={"purge": "true"})).json()
    assert purged == {"removed": True, "purged": True, "restorable_until": None}
    assert_error(await client.post(secret_url("ns", "k") + "/restore"), 404, "not_found")
    assert (await fetch("SELECT count(*) AS n FROM secret_versions"))[0]["n"] == 0
    types = [e["type"] for e in (await client.get("/api/v1/events")).json()["items"]]
    assert types[:3] == ["purged", "restored", "deleted"]


async def test_a_put_to_a_deleted_name_revives_the_same_secret(client: httpx.AsyncClient) -> None:
    created = (await put(client, "ns", "k", "one")).json()
    await client.delete(secret_url("ns", "k"))
    revived = await put(client, "ns", "k", "two")
    assert revived.status_code == 201 and revived.json()["is_new"] is True
    assert revived.json()["secret_id"] == created["secret_id"]
    assert revived.json()["version"] == 2
