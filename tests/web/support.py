"""Constants and small helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx

from core.db import fetch

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
}


def secret_url(namespace: str, name: str | None = None) -> str:
    return f"/api/v1/secrets/{namespace}" + ("" if name is None else f"/{name}")


async def put(
    client: httpx.AsyncClient, namespace: str, name: str, value: str = "v", **fields: Any
) -> httpx.Response:
    return await client.put(secret_url(namespace, name), json={"value": value, **fields})


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


async def snapshot() -> tuple[list[Any], list[Any], list[Any]]:
    """Every row the store holds, to show that a refused request changed nothing."""
    secrets = await fetch("SELECT * FROM secrets ORDER BY id")
    secrets += await fetch("SELECT * FROM secret_versions ORDER BY id")
    events = await fetch("SELECT * FROM audit_events ORDER BY id")
    tokens = await fetch("SELECT * FROM api_tokens ORDER BY id")
    return [dict(r) for r in secrets], [dict(r) for r in events], [dict(r) for r in tokens]


SESSION_COOKIE = "secretstore_session"
CSRF_COOKIE = "secretstore_csrf"


def csrf_header(client: httpx.AsyncClient) -> dict[str, str]:
    """The header htmx sends with every state-changing dashboard request."""
    return {"x-csrftoken": client.cookies.get(CSRF_COOKIE) or ""}


async def sign_in(client: httpx.AsyncClient, token: str) -> str:
    """Sign a dashboard client in with ``token``; returns its session cookie."""
    await client.get("/login")
    response = await client.post("/login", data={"token": token}, headers=csrf_header(client))
    assert response.status_code == 303, response.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


async def signed_in(client: httpx.AsyncClient) -> bool:
    """Whether the dashboard serves a page to this client (else it goes to /login)."""
    response = await client.get("/secrets")
    assert response.status_code in (200, 303), response.text
    return response.status_code == 200
