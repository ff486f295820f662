"""Security headers on every answer, and error bodies and logs that give nothing away."""

from __future__ import annotations

import logging

import httpx
import pytest
from litestar import Litestar

from core.runtime import Runtime
from tests.web.conftest import ClientFactory
from tests.web.support import SECURITY_HEADERS, assert_error, put, secret_url


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.request.url)


async def test_every_kind_of_answer_carries_the_headers(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    responses = [
        await put(client, "ns", "s"),  # 201
        await client.get(secret_url("ns", "s")),  # 200
        await client.get(secret_url("ns", "missing")),  # 404 from the store
        await client.get("/api/v1/no-such-route"),  # 404 from the router
        await client.post(secret_url("ns", "s")),  # 405 from the router
        await client.put(secret_url("ns", "s"), content=b"{"),  # 400
        await anonymous.get("/api/v1/namespaces"),  # 401
        await anonymous.get("/api/v1/health"),
        await anonymous.get("/schema/openapi.json"),
        await anonymous.get("/definitely-not-a-page"),
    ]
    for response in responses:
        assert_security_headers(response)


async def test_api_answers_set_no_cookie(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    # Sessions and CSRF belong to the dashboard: the API authenticates by token.
    await put(client, "ns", "s")
    for response in (
        await client.get(secret_url("ns", "s")),
        await client.get(secret_url("ns", "missing")),
        await client.delete(secret_url("ns", "s")),
        await anonymous.get("/api/v1/health"),
        await anonymous.get("/schema/openapi.json"),
    ):
        assert "set-cookie" not in response.headers, response.request.url


async def test_api_answers_are_not_cached(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await put(client, "ns", "s")
    for response in (
        await client.get(secret_url("ns", "s")),
        await client.get("/api/v1/nothing"),
        await anonymous.get("/api/v1/health"),
    ):
        assert response.headers["cache-control"] == "no-store"


async def test_hsts_only_over_https(app: Litestar, make_client: ClientFactory) -> None:
    plain = await make_client(app)
    secure = await make_client(app, scheme="https")
    assert "strict-transport-security" not in (await plain.get("/api/v1/health")).headers
    hsts = (await secure.get("/api/v1/health")).headers["strict-transport-security"]
    assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 31_536_000


async def test_an_unexpected_error_is_a_bare_500_logged_by_type_only(
    app: Litestar,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime: Runtime = app.state["runtime"]

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("hunter2 must never be shown")

    monkeypatch.setattr(runtime.store, "get_or_raise", broken)
    with caplog.at_level(logging.INFO):
        response = await client.get(secret_url("ns", "s"))
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "message": "internal error"}
    assert_security_headers(response)
    assert "hunter2" not in caplog.text and "Traceback" not in caplog.text
    record = next(r for r in caplog.records if r.getMessage() == "unexpected error")
    assert record.error_type == "builtins.RuntimeError"  # type: ignore[attr-defined]
    assert record.route == "/api/v1/secrets/{namespace}/{name}"  # type: ignore[attr-defined]


async def test_a_connection_error_is_503_unavailable(
    app: Litestar, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime: Runtime = app.state["runtime"]

    async def refused(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("connect to 10.1.2.3:5432 as admin:pw failed")

    monkeypatch.setattr(runtime.store, "put", refused)
    response = await put(client, "ns", "s")
    assert_error(response, 503, "unavailable")
    assert "10.1.2.3" not in response.text and "pw" not in response.text


async def test_no_value_appears_in_any_log_line(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with caplog.at_level(logging.DEBUG):
        await put(client, "ns", "s", "correct-horse-battery-staple")
        await client.get(secret_url("ns", "s"))
        await client.put(
            secret_url("ns", "s"), json={"value": "correct-horse-battery-staple", "x": 1}
        )
        created = await client.post(
            "/api/v1/tokens", json={"name": "t", "namespaces": ["*"], "capabilities": ["read"]}
        )
    # The standard library's records, and the lines written (request lines included).
    written = capsys.readouterr().err
    assert '"event":"request"' in written
    for text in (caplog.text, written):
        assert "correct-horse-battery-staple" not in text
        assert created.json()["token"] not in text
