"""Running the ``secretstore`` command as a child process, as a person would.

A child process, not typer's CliRunner: a command opens a database pool of its
own with ``asyncio.run``, and core's engine is one per process, so inside the
test process it would collide with the session's pool.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT

# Everything the command reads from its environment; each test states its own.
_CONFIGURATION = ("DATABASE_URL", "REDIS_URL", "PORT", "LOG_LEVEL")


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any secret store configuration, plus ``settings``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _CONFIGURATION and not name.startswith("SECRET_STORE_")
    }
    env.update(settings)
    return env


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
