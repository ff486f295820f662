"""The web process refuses to start on a configuration it cannot run safely."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from core.keys import define_keys
from tests.keys import KEY_1

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_without_a_session_secret_the_web_process_does_not_start(
    database_url: str, redis_url: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_STORE_KEYS": define_keys({1: KEY_1}),
    }
    # Port 0: if it did start, it would not collide with anything before the timeout.
    command = [str(ROOT / ".venv/bin/uvicorn"), "--factory", "web.app:create_app", "--port", "0"]
    try:
        result = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the web process started without SECRET_STORE_SESSION_SECRET")
    assert result.returncode != 0
    assert "SECRET_STORE_SESSION_SECRET is required" in result.stdout + result.stderr
