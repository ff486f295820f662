"""The hot read (web.readpath) answers exactly as the Litestar route would, or leaves it to it.

Each request goes to two apps over the same database: the app as served, and
one built with ``read_path=False`` whose every request goes through Litestar's
routing. Their answers must be identical: status, headers and body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar

from core.db import fetch
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
