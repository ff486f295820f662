"""End-to-end fixtures: the real web and worker processes, and a headless Chromium.

One deployment serves the whole e2e session: rows under key version 1 are
written through core with a key ring holding only version 1, then ``uvicorn``
and a Dramatiq worker start with versions 1 and 2, so those rows are stale
and the settings page has a rotation to run. Each test drives its own browser
context (its own cookies) and works in a namespace of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from core.keys import define_keys, parse_keys
from core.store import SecretStore
from tests.e2e.support import SCREENSHOTS, STALE_NAMESPACE, STALE_ROWS, sign_in
from tests.keys import ADMIN_TOKEN, KEY_1, KEYS_V1_V2
from tests.support import ARTIFACTS, ROOT, VENV_BIN, free_port

# One directory per test process: sessions may run side by side on one checkout.
LOGS = ARTIFACTS / "e2e-logs" / str(os.getpid())

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the process group this fixture created."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _wait_for_health(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web process exited: see {log}")
        try:
            if httpx.get(f"{base_url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the web process did not answer in time: see {log}")


@pytest.fixture(scope="session")
async def stale_rows(db_pool: str) -> int:
    """Secrets written under key version 1 only, before the deployment knows version 2."""
    store: SecretStore[str, dict[str, Any]] = SecretStore(
        lambda: parse_keys(define_keys({1: KEY_1}))
    )
    for index in range(STALE_ROWS):
        await store.put(
            STALE_NAMESPACE, f"LEGACY_{index:03d}", f"legacy-value-{index:03d}", actor=None
        )
    return STALE_ROWS


@pytest.fixture(scope="session")
def deployment(database_url: str, redis_url: str, stale_rows: int) -> Iterator[str]:
    """The web process and a worker, as the Procfile runs them; yields the base URL."""
    LOGS.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_STORE_KEYS": KEYS_V1_V2,
        "SECRET_STORE_ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_STORE_SESSION_SECRET": uuid.uuid4().hex,
        "SECRET_STORE_EMBEDDED": "1",
        # Queues and leases of their own, so other sessions on this Redis never interfere.
        "SECRET_STORE_REDIS_PREFIX": f"secretstore-e2e-{uuid.uuid4().hex[:12]}",
        # Small batches, so the rotation takes several links and shows progress.
        "SECRET_STORE_ROTATION_BATCH": "20",
        "PYTHONPATH": str(ROOT),
    }
    web_log, worker_log = LOGS / "web.log", LOGS / "worker.log"
    with web_log.open("wb") as web_out, worker_log.open("wb") as worker_out:
        web = subprocess.Popen(
            [
                str(VENV_BIN / "uvicorn"),
                "--factory",
                "web.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=web_out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = subprocess.Popen(
            [str(VENV_BIN / "dramatiq"), "worker.actors", "--processes", "1", "--threads", "2"],
            cwd=ROOT,
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_for_health(base_url, web, web_log)
            yield base_url
        finally:
            _stop(web)
            _stop(worker)


@pytest.fixture(scope="module")
def browser(deployment: str) -> Iterator[Browser]:
    """Chromium, per test module.

    Playwright's sync API runs an event loop of its own on this thread while it
    is open, and pytest-asyncio cannot set up an async fixture while another
    loop runs. So the async fixtures (the database, the seeded rows) are set up
    first, through ``deployment``, and Chromium closes at the end of each module,
    before any other directory's async fixtures run.
    """
    if not Path(CHROMIUM).exists():
        # Playwright cannot download a browser here; .ci/run installs Debian's.
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, deployment: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=deployment, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def admin(context: BrowserContext) -> Iterator[Page]:
    """A page signed in with the bootstrap admin token; dialogs (hx-confirm) are accepted.

    Whatever the test does, the page itself must never trip the
    Content-Security-Policy (an inline script or style left in a template).
    """
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, ADMIN_TOKEN)
    page.wait_for_url("**/secrets")
    yield page
    assert refused == [], refused
