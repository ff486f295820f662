"""The hot read (web.readpath) answers exactly as the Litestar route would, or leaves it to it.

Each request goes to two apps over the same database: the app as served, and
one built with ``read_path=False`` whose every request goes through Litestar's
routing. Their answers must be identical: status, headers and body, errors
included. An unexpected error is answered by the read path as the app answers
one, never handed to the route (which could answer as if nothing happened).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar

import web.readpath
from core.db import fetch
from core.keys import define_keys
from core.store import SecretStore
from tests.keys import ADMIN_TOKEN, KEY_2
from tests.web.conftest import AppFactory, ClientFactory
from tests.web.support import put, secret_url
from web.app import SecretStoreApp

Answer = tuple[int, list[tuple[str, str]], bytes]


def _answer(response: httpx.Response) -> Answer:
    headers = sorted((k.lower(), v) for k, v in response.headers.items())
    return response.status_code, headers, response.content


@pytest.fixture
def answered(app: SecretStoreApp) -> list[bool]:
    """Whether the read path answered each request the served app saw (False: Litestar did)."""
    seen: list[bool] = []
    read_path = app.read_path
    assert read_path is not None
    original = read_path.answer

    async def spy(scope: Any, send: Any) -> bool:
        result = await original(scope, send)
        seen.append(result)
        return result

    read_path.answer = spy  # type: ignore[method-assign]
    return seen


Compare = Callable[..., Awaitable[Answer]]


@pytest.fixture
def compare(
    app: Litestar,
    make_app: AppFactory,
    environ: dict[str, str],
    make_client: ClientFactory,
    generous_limiter: object,
) -> Compare:
    """``await compare(token, path)``: both apps' answers to the same GET, checked equal."""
    plain = make_app(environ, read_path=False)

    async def run(token: str | None, path: str, scheme: str = "http") -> Answer:
        served = await make_client(app, token=token, scheme=scheme)
        routed = await make_client(plain, token=token, scheme=scheme)
        got = _answer(await served.get(path))
        want = _answer(await routed.get(path))
        assert got == want
        return got

    return run


async def test_a_read_is_answered_ahead_of_routing_as_the_route_answers_it(
    client: httpx.AsyncClient,
    token_client: Any,
    compare: Compare,
    answered: list[bool],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await put(client, "acme", "db-password", "s3cr3t", metadata={"team": "core"}, ttl_ms=3_600_000)
    reader = await token_client(["acme"], ["read"])
    token = reader.headers["authorization"].removeprefix("Bearer ")
    answered.clear()
    capsys.readouterr()
    status, headers, body = await compare(token, secret_url("acme", "db-password"))
    assert status == 200 and b'"value":"s3cr3t"' in body
    assert ("cache-control", "no-store") in headers
    assert answered == [True]
    captured = capsys.readouterr()
    written = [json.loads(line) for line in captured.err.splitlines()]
    lines = [
        (line["method"], line["route"], line["status"])
        for line in written
        if line.get("logger") == "secretstore.web.request"
    ]
    assert lines == [("GET", "/api/v1/secrets/{namespace}/{name}", 200)] * 2
    # Over https the answer carries HSTS, on both paths.
    _, headers, _ = await compare(token, secret_url("acme", "db-password"), scheme="https")
    assert any(name == "strict-transport-security" for name, _ in headers)
    assert answered == [True, True]


async def test_everything_but_the_plain_success_is_left_to_litestar(
    client: httpx.AsyncClient,
    token_client: Any,
    compare: Compare,
    answered: list[bool],
) -> None:
    await put(client, "acme", "db-password", "s3cr3t")
    await put(client, "acme", "gone", "x", ttl_ms=60_000)
    await fetch("UPDATE secrets SET expires_at = now() - interval '1 second' WHERE name = 'gone'")
    reader = await token_client(["acme"], ["read"])
    token = reader.headers["authorization"].removeprefix("Bearer ")
    lister = await token_client(["acme"], ["list"])
    no_read = lister.headers["authorization"].removeprefix("Bearer ")
    other = await token_client(["other"], ["read"])
    elsewhere = other.headers["authorization"].removeprefix("Bearer ")
    one = secret_url("acme", "db-password")
    answered.clear()
    cases = [
        (None, one, 401),  # no token
        ("sst_" + "x" * 43, one, 401),  # unknown token
        (no_read, one, 403),  # no read capability
        (elsewhere, one, 403),  # outside the token's namespaces
        (token, secret_url("acme", "missing"), 404),
        (token, secret_url("acme", "gone"), 410),
        (token, secret_url("bad namespace!", "x"), 400),
        (token, secret_url("acme", "%20leading-space"), 400),
        (token, secret_url("acme", "a%2Fb"), 404),  # a '/' inside the name
        (token, one + "?unknown=1", 400),
        (token, one + "/", 200),  # Litestar ignores a trailing '/'; the read path declines it
    ]
    for holder, path, status in cases:
        got_status, _, _ = await compare(holder, path)
        assert got_status == status, (holder, path)
    # The read path declined each of them (or never saw them: query string, extra '/').
    assert True not in answered


def _spy(app: Litestar) -> list[bool]:
    """Whether ``app``'s read path answered each request it saw."""
    assert isinstance(app, SecretStoreApp) and app.read_path is not None
    seen: list[bool] = []
    original = app.read_path.answer

    async def spy(scope: Any, send: Any) -> bool:
        result = await original(scope, send)
        seen.append(result)
        return result

    app.read_path.answer = spy  # type: ignore[method-assign]
    return seen


async def _both(
    make_client: ClientFactory, served: Litestar, routed: Litestar, path: str
) -> tuple[Answer, Answer]:
    got = _answer(await (await make_client(served)).get(path))
    want = _answer(await (await make_client(routed)).get(path))
    return got, want


async def test_the_stores_errors_are_left_to_litestar_and_answered_alike(
    client: httpx.AsyncClient,
    make_app: AppFactory,
    make_client: ClientFactory,
    environ: dict[str, str],
    compare: Compare,
    answered: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await put(client, "acme", "s", "the value")
    one = secret_url("acme", "s")
    # A key version that is no longer configured, then a key configuration
    # that does not parse: apps of their own, with and without the read path.
    for keys, status, code in (
        (define_keys({2: KEY_2}), 409, "key_unavailable"),
        ("1:short", 503, "invalid_keys"),
    ):
        changed = {**environ, "SECRET_STORE_KEYS": keys}
        served = make_app(changed)
        seen = _spy(served)
        got, want = await _both(make_client, served, make_app(changed, read_path=False), one)
        assert got == want
        assert got[0] == status and json.loads(got[2])["code"] == code
        assert seen == [False]
    # The database unreachable while reading.
    original = SecretStore.get_or_raise

    async def refused(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("connect to 10.1.2.3:5432 failed")

    monkeypatch.setattr(SecretStore, "get_or_raise", refused)
    answered.clear()
    status, _, body = await compare(ADMIN_TOKEN, one)
    assert status == 503 and json.loads(body)["code"] == "unavailable"
    monkeypatch.setattr(SecretStore, "get_or_raise", original)
    # Ciphertext that does not authenticate.
    await fetch(
        "UPDATE secret_versions SET ciphertext ="
        " set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)"
    )
    status, _, body = await compare(ADMIN_TOKEN, one)
    assert status == 500 and json.loads(body)["code"] == "decryption_failed"
    assert b"the value" not in body
    assert answered == [False, False]


async def test_an_unexpected_error_is_answered_as_the_app_answers_it_and_not_retried(
    client: httpx.AsyncClient,
    compare: Compare,
    answered: list[bool],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await put(client, "acme", "s")
    calls: list[str] = []

    async def broken(*args: object, **kwargs: object) -> None:
        calls.append("get_or_raise")
        raise RuntimeError("hunter2 must never be shown")

    monkeypatch.setattr(SecretStore, "get_or_raise", broken)
    answered.clear()
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        status, headers, body = await compare(ADMIN_TOKEN, secret_url("acme", "s"))
    assert status == 500
    assert json.loads(body) == {"code": "internal_error", "message": "internal error"}
    assert ("cache-control", "no-store") in headers
    # The read path answered the bug itself: the route was not tried after it
    # (one call for each app), so a bug of the read path cannot hide behind it.
    assert answered == [True]
    assert calls == ["get_or_raise", "get_or_raise"]
    assert "hunter2" not in caplog.text and "Traceback" not in caplog.text
    errors = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert [(r.error_type, r.method, r.route) for r in errors] == [  # type: ignore[attr-defined]
        ("builtins.RuntimeError", "GET", "/api/v1/secrets/{namespace}/{name}")
    ] * 2
    written = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    lines = [
        (line["method"], line["route"], line["status"])
        for line in written
        if line.get("logger") == "secretstore.web.request"
    ]
    assert lines == [("GET", "/api/v1/secrets/{namespace}/{name}", 500)] * 2


async def test_a_bug_of_the_read_path_alone_is_a_500_and_not_left_to_the_route(
    client: httpx.AsyncClient,
    app: Litestar,
    make_app: AppFactory,
    make_client: ClientFactory,
    environ: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await put(client, "acme", "s", "the value")

    async def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug in web/readpath.py")

    monkeypatch.setattr(web.readpath, "read_secret", broken)
    served, routed = await _both(
        make_client, app, make_app(environ, read_path=False), secret_url("acme", "s")
    )
    assert routed[0] == 200
    assert served[0] == 500
    assert json.loads(served[2]) == {"code": "internal_error", "message": "internal error"}
    # the same headers but the ETag, which only a success carries
    assert [h for h in served[1] if h[0] != "content-length"] == [
        h for h in routed[1] if h[0] not in ("content-length", "etag")
    ]
