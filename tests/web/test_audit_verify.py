"""/api/v1/audit/verify and the events' seq, through the real API and database."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from core.audit_chain import seal_batch
from core.db import fetch
from core.keys import parse_keys
from tests.web.conftest import TokenFactory
from tests.web.support import assert_error, put

pytestmark = pytest.mark.usefixtures("empty_audit_log")

FIELDS = {"ok", "checked", "first_seq", "last_seq", "unsealed", "oldest_unsealed_ms", "problem"}


async def _seal(environ: dict[str, str]) -> None:
    ring = parse_keys(environ["SECRET_STORE_KEYS"])
    while not (await seal_batch(ring, datetime.now(UTC))).is_done:
        pass


async def test_events_carry_their_seq_once_sealed(
    client: httpx.AsyncClient, environ: dict[str, str]
) -> None:
    await put(client, "acme", "a", "one")
    await put(client, "acme", "a", "two")
    items = (await client.get("/api/v1/events", params={"order": "asc"})).json()["items"]
    assert [e["seq"] for e in items] == [None, None]

    await _seal(environ)

    items = (await client.get("/api/v1/events", params={"order": "asc"})).json()["items"]
    assert [e["seq"] for e in items] == [1, 2]


async def test_verify_answers_every_field_and_counts_what_waits(
    client: httpx.AsyncClient, environ: dict[str, str]
) -> None:
    await put(client, "acme", "a")
    await put(client, "acme", "b")
    await _seal(environ)
    await put(client, "acme", "c")

    response = await client.get("/api/v1/audit/verify")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert body["ok"] is True and body["problem"] is None
    assert (body["checked"], body["first_seq"], body["last_seq"]) == (2, 1, 2)
    assert body["unsealed"] == 1 and isinstance(body["oldest_unsealed_ms"], int)


async def test_verify_names_the_first_changed_event(
    client: httpx.AsyncClient, environ: dict[str, str]
) -> None:
    for name in "abcd":
        await put(client, "acme", name)
    await _seal(environ)
    await fetch(
        "UPDATE audit_events SET actor = 'nobody'"
        " WHERE id = (SELECT event_id FROM audit_seals WHERE seq = 3)"
    )

    body = (await client.get("/api/v1/audit/verify")).json()

    assert body["ok"] is False and body["checked"] == 2
    assert (body["problem"]["seq"], body["problem"]["kind"]) == (3, "changed")


async def test_verify_needs_audit_over_every_namespace(
    client: httpx.AsyncClient, token_client: TokenFactory
) -> None:
    scoped = await token_client(["acme:*"], ["audit", "admin", "list", "read"])
    assert_error(await scoped.get("/api/v1/audit/verify"), 403, "forbidden")
    reader = await token_client(["*"], ["read", "list"])
    assert_error(await reader.get("/api/v1/audit/verify"), 403, "forbidden")
    auditor = await token_client(["*"], ["audit"])
    assert (await auditor.get("/api/v1/audit/verify")).status_code == 200
