"""/api/v1/events: filters, paging, and only the namespaces a token may see."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import TokenFactory
from tests.web.support import assert_error, put, secret_url


async def seed(client: httpx.AsyncClient) -> None:
    await put(client, "acme:prod", "a", "one")
    await put(client, "acme:prod", "a", "two")
    await put(client, "acme:dev", "b")
    await put(client, "other", "c")
    await client.delete(secret_url("other", "c"))


async def test_events_newest_first_with_every_field(client: httpx.AsyncClient) -> None:
    await seed(client)
    response = await client.get("/api/v1/events")
    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    assert [(e["type"], e["name"]) for e in page["items"]] == [
        ("deleted", "c"),
        ("created", "c"),
        ("created", "b"),
        ("updated", "a"),
        ("created", "a"),
    ]
    event = page["items"][3]
    assert set(event) == {
        "event_id",
        "secret_id",
        "namespace",
        "name",
        "type",
        "created_at",
        "actor",
        "detail",
        "seq",
    }
    assert event["detail"] == {"changed": ["value"], "version": 2}
    assert "one" not in response.text and "two" not in response.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"namespace": "acme:prod"}, [("updated", "a"), ("created", "a")]),
        ({"name": "b"}, [("created", "b")]),
        ({"type": "deleted"}, [("deleted", "c")]),
        ({"namespace": "other", "type": "created"}, [("created", "c")]),
        ({"namespace": "nowhere"}, []),
    ],
)
async def test_filters_combine_with_and(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    await seed(client)
    items = (await client.get("/api/v1/events", params=params)).json()["items"]
    assert [(e["type"], e["name"]) for e in items] == expected


async def test_secret_id_filter_outlives_the_secret(client: httpx.AsyncClient) -> None:
    secret_id = (await put(client, "ns", "gone")).json()["secret_id"]
    await client.delete(secret_url("ns", "gone"))
    items = (await client.get("/api/v1/events", params={"secret_id": secret_id})).json()["items"]
    assert [e["type"] for e in items] == ["deleted", "created"]


async def test_events_page_by_cursor(client: httpx.AsyncClient) -> None:
    for index in range(5):
        await put(client, "ns", f"s{index}")
    first = (await client.get("/api/v1/events", params={"limit": 3, "order": "asc"})).json()
    second = (
        await client.get(
            "/api/v1/events", params={"limit": 3, "order": "asc", "cursor": first["next_cursor"]}
        )
    ).json()
    names = [e["name"] for e in first["items"] + second["items"]]
    assert names == ["s0", "s1", "s2", "s3", "s4"] and second["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"type": "exploded"},
        {"namespace": "bad namespace"},
        {"name": " padded"},
        {"secret_id": "not-an-id"},
        {"limit": "0"},
        {"order": "sideways"},
        {"cursor": "garbage"},
    ],
)
async def test_a_bad_filter_is_400(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_error(await client.get("/api/v1/events", params=params), 400, "invalid_argument")


async def test_a_cursor_from_the_secret_listing_is_refused(client: httpx.AsyncClient) -> None:
    for index in range(3):
        await put(client, "ns", f"s{index}")
    cursor = (await client.get(secret_url("ns"), params={"limit": 1})).json()["next_cursor"]
    response = await client.get("/api/v1/events", params={"cursor": cursor})
    assert_error(response, 400, "invalid_argument")


async def test_without_namespace_only_the_tokens_scope_is_listed(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    await seed(client)
    auditor = await token_client(["acme:*"], ["audit"])
    items = (await auditor.get("/api/v1/events")).json()["items"]
    assert {e["namespace"] for e in items} == {"acme:prod", "acme:dev"}


async def test_a_namespace_filter_outside_the_scope_is_403(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    await seed(client)
    auditor = await token_client(["acme:*"], ["audit"])
    assert_error(
        await auditor.get("/api/v1/events", params={"namespace": "other"}), 403, "forbidden"
    )
    inside = await auditor.get("/api/v1/events", params={"namespace": "acme:dev"})
    assert [e["name"] for e in inside.json()["items"]] == ["b"]


async def test_events_need_the_audit_capability(token_client: TokenFactory) -> None:
    reader = await token_client(["*"], ["read", "list"])
    assert_error(await reader.get("/api/v1/events"), 403, "forbidden")
