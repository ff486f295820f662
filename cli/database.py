"""The CLI's way into PostgreSQL: migrations, and core calls on a short-lived pool.

Typer commands are synchronous and core is async, so each command runs one
``asyncio.run`` that opens the pool on its own event loop (the pool must live on
the loop that uses it), does its work and closes the pool again.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from core.settings import DATABASE_URL_VAR

T = TypeVar("T")

# piccolo_conf.py and the Procfile live at the repository root, beside this package.
ROOT = Path(__file__).resolve().parent.parent


def run_with_database(url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work()`` on a fresh event loop with the core database pool open on ``url``."""

    # Imported here: commands that never touch the database need not load it.
    from core.db import close_pool, configure_database, open_pool

    async def main() -> T:
        configure_database(url)
        with warnings.catch_warnings():
            # Piccolo warns on stderr when it cannot connect; the command reports
            # that failure itself, in one line.
            warnings.simplefilter("ignore")
            # Two connections: a CLI command runs its statements one after another.
            await open_pool(min_size=1, max_size=2)
        try:
            return await work()
        finally:
            await close_pool()

    return asyncio.run(main())


def run_migrations(url: str, *, capture: bool) -> subprocess.CompletedProcess[str]:
    """Apply every pending Piccolo migration to ``url`` (what the Procfile's ``release`` runs).

    Run as a child process because Piccolo's CLI finds its configuration
    (piccolo_conf.py) from the working directory, and piccolo_conf.py points the
    engine at the DATABASE_URL of its environment.
    """
    if not (ROOT / "piccolo_conf.py").is_file():
        raise FileNotFoundError(
            f"no piccolo_conf.py in {ROOT}: install the project with `pip install -e .`"
        )
    env = {**os.environ, DATABASE_URL_VAR: url}
    return subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=ROOT,
        env=env,
        check=False,
        text=True,
        capture_output=capture,
    )
