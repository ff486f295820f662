"""Rotation and cleanup: the API starts the worker's chains and never runs one itself."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import httpx
import pytest
import redis

from core.keys import define_keys
from tests.keys import KEY_1, KEY_2
from tests.support import ROOT
from tests.web.conftest import AppFactory, ClientFactory
from tests.web.support import assert_error, put, secret_url


@pytest.fixture
async def two_keys(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str], chains: redis.Redis
) -> httpx.AsyncClient:
    """Three secrets written under key 1, and an admin client of a deployment with keys 1 and 2."""
    old = await make_client(make_app(environ))
    for name in ("a", "b", "c"):
        await put(old, "ns", name)
    keys = define_keys({1: KEY_1, 2: KEY_2})
    return await make_client(make_app({**environ, "SECRET_STORE_KEYS": keys}))


async def test_rotation_status(two_keys: httpx.AsyncClient) -> None:
    response = await two_keys.get("/api/v1/rotation")
    assert response.status_code == 200
    assert response.json() == {
        "active_version": 2,
        "configured_versions": [1, 2],
        "complete": False,
        "counts": {"1": 3},
        "stale": 3,
        "orphans": 0,
        "running": False,
    }


async def test_post_rotation_starts_the_chain_once_and_answers_at_once(
    two_keys: httpx.AsyncClient,
) -> None:
    first = await two_keys.post("/api/v1/rotation")
    assert first.status_code == 202
    assert first.json() == {"started": True, "stale": 3, "orphans": 0}
    again = await two_keys.post("/api/v1/rotation")
    assert again.status_code == 202 and again.json()["started"] is False
    status = (await two_keys.get("/api/v1/rotation")).json()
    # The request only enqueued: no worker runs here, so nothing was rewrapped.
    assert status["running"] is True and status["stale"] == 3 and status["counts"] == {"1": 3}
    assert (await two_keys.get(secret_url("ns", "a"))).status_code == 200


async def test_orphans_are_counted(
    make_app: AppFactory, make_client: ClientFactory, environ: dict[str, str], chains: redis.Redis
) -> None:
    await put(await make_client(make_app(environ)), "ns", "a")
    only_2 = await make_client(make_app({**environ, "SECRET_STORE_KEYS": define_keys({2: KEY_2})}))
    status = (await only_2.get("/api/v1/rotation")).json()
    assert status["orphans"] == 1 and status["stale"] == 0 and status["complete"] is False


@pytest.mark.parametrize("kind", ["secrets", "events"])
@pytest.mark.parametrize("body", [None, {}, {"retention_ms": 86_400_000}])
async def test_cleanup_starts_its_chain(
    client: httpx.AsyncClient, chains: redis.Redis, kind: str, body: dict | None
) -> None:
    response = await client.post(f"/api/v1/cleanup/{kind}", json=body)
    assert response.status_code == 202, response.text
    assert response.json() == {"started": True}
    again = await client.post(f"/api/v1/cleanup/{kind}")
    assert again.status_code == 202 and again.json() == {"started": False}


@pytest.mark.parametrize(
    "body",
    [
        {"retention_ms": 0},
        {"retention_ms": -1},
        {"retention_ms": "1000"},
        {"retention_ms": 1.5},
        {"retention_ms": None},
        {"retention": 1000},
        [],
        "x",
    ],
)
async def test_a_bad_retention_is_400_and_starts_nothing(
    client: httpx.AsyncClient, chains: redis.Redis, body: object
) -> None:
    for kind in ("secrets", "events"):
        response = await client.post(f"/api/v1/cleanup/{kind}", json=body)
        assert_error(response, 400, "invalid_argument")
    assert (await client.post("/api/v1/cleanup/secrets")).json() == {"started": True}


@pytest.mark.slow
async def test_with_redis_down_chains_are_503_and_secrets_still_work(
    environ: dict[str, str], db: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        **environ,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "LOG_LEVEL": "ERROR",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.web.redis_down_probe",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    answers = json.loads(stdout)
    for label in ("post_rotation", "get_rotation", "cleanup_secrets", "cleanup_events"):
        assert answers[label]["status"] == 503, answers[label]
        assert answers[label]["body"]["code"] == "unavailable"
        assert "127.0.0.1" not in answers[label]["body"]["message"]
    assert answers["put"]["status"] == 201
    assert answers["get"]["status"] == 200 and answers["get"]["body"]["value"] == "still here"
    assert answers["list"]["status"] == 200
    assert answers["ready"]["status"] == 200
