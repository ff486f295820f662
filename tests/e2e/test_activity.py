"""The activity page shows the audit chain's state: what waits, what verified, where it breaks."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import namespace, screenshot
from tests.keys import ADMIN_TOKEN, KEYS_V1_V2
from tests.support import ROOT

pytestmark = pytest.mark.slow

# Run in a process of its own, as a sealer would: the test's event loop is Playwright's.
_SEAL = """
import asyncio, os
from datetime import UTC, datetime
from core.audit_chain import seal_batch
from core.db import configure_database
from core.keys import parse_keys

async def main():
    configure_database(os.environ["DATABASE_URL"])
    ring = parse_keys(os.environ["SECRET_STORE_KEYS"])
    while not (await seal_batch(ring, datetime.now(UTC))).is_done:
        pass

asyncio.run(main())
"""

_TAMPER = """
import asyncio, os, sys
import asyncpg

async def main():
    connection = await asyncpg.connect(os.environ["DATABASE_URL"])
    row = await connection.fetchrow(
        "UPDATE audit_events SET detail = CASE WHEN $1::boolean"
        " THEN detail || jsonb_build_object('tampered', 1)"
        " ELSE detail - 'tampered' END WHERE id = (SELECT event_id FROM audit_seals"
        " WHERE seq = (SELECT max(seq) FROM audit_seals)) RETURNING"
        " (SELECT max(seq) FROM audit_seals) AS seq",
        sys.argv[1] == "tamper",
    )
    print(row["seq"])
    await connection.close()

asyncio.run(main())
"""


def _run(code: str, database_url: str, *args: str) -> str:
    env = {"DATABASE_URL": database_url, "SECRET_STORE_KEYS": KEYS_V1_V2, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_activity_shows_unsealed_events_then_the_verified_chain_then_its_break(
    admin: Page, deployment: str, database_url: str
) -> None:
    page = admin
    ns = namespace("chain")
    response = httpx.put(
        f"{deployment}/api/v1/secrets/{ns}/DB_PASSWORD",
        json={"value": "hunter2"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code in (200, 201), response.text

    page.goto("/activity")
    expect(page.locator("#chain-unsealed")).to_contain_text("not sealed yet")
    expect(page.locator("#chain-state")).to_have_attribute("data-ok", "yes")

    _run(_SEAL, database_url)
    page.reload()
    expect(page.locator("#chain-state")).to_contain_text("Verified: every event up to seq")
    expect(page.locator("#chain-unsealed")).to_have_text("Every event is sealed.")
    screenshot(page, "activity-chain-verified")

    seq = _run(_TAMPER, database_url, "tamper")
    try:
        page.reload()
        state = page.locator("#chain-state")
        expect(state).to_have_attribute("data-ok", "no")
        expect(state).to_contain_text(f"The chain breaks at seq {seq} (changed)")
        screenshot(page, "activity-chain-broken")
    finally:
        _run(_TAMPER, database_url, "restore")
    page.reload()
    expect(page.locator("#chain-state")).to_have_attribute("data-ok", "yes")
