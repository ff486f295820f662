"""The settings page: a rotation run by the real worker, watched to completion; demo data."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Response, expect

from tests.e2e.support import STALE_NAMESPACE, STALE_ROWS, screenshot

pytestmark = pytest.mark.slow

_PROGRESS = re.compile(r'<progress id="rotation-bar" max="100" value="(\d+)"')


def _progress(fragment: str) -> str:
    match = _PROGRESS.search(fragment)
    assert match, "a poll answered without the progress bar"
    return match.group(1)


def test_rotation_progress_runs_to_complete_and_polling_stops(admin: Page) -> None:
    page = admin
    polled: list[Response] = []

    def record(response: Response) -> None:
        if response.url.endswith("/settings/rotation") and response.request.method == "GET":
            polled.append(response)

    page.on("response", record)
    page.goto("/settings")
    rotation = page.locator("#rotation")
    expect(page.locator("#stat-stale")).to_have_text(str(STALE_ROWS))
    expect(rotation).to_contain_text("still on older versions")
    screenshot(page, "settings-before-rotation")

    page.click("#rotate-button")
    expect(rotation).to_have_attribute("data-complete", "yes", timeout=30_000)
    expect(rotation).to_have_attribute("data-running", "no")
    expect(page.locator("#rotation-bar")).to_have_attribute("value", "100")
    expect(page.locator("#stat-stale")).to_have_text("0")
    expect(rotation).to_contain_text("Rotation complete: every row is on v2.")
    expect(rotation).to_contain_text("no rows left: can be retired")
    screenshot(page, "settings-rotation-complete")

    # The answer that found the chain stopped said 286, and nothing polls after it.
    page.wait_for_timeout(1_500)
    polls = [(r.status, int(_progress(r.text()))) for r in polled]
    assert polls, "the card never polled"
    assert polls[-1] == (286, 100)
    assert [status for status, _ in polls].count(286) == 1
    progress = [value for _, value in polls]
    assert progress == sorted(progress)
    assert rotation.get_attribute("hx-trigger") is None

    # Each rewrap is in the audit log, in words.
    page.goto(f"/activity?ns={STALE_NAMESPACE}&type=rotated")
    expect(page.locator("#events-table tbody tr").first).to_contain_text("rotated from v1 to v2")
    expect(page.locator("#events-table tbody tr").first).to_contain_text("bootstrap admin")

    # The chains card says when the rotation's last link ran.
    page.goto("/settings")
    chain = page.locator("#chain-rotation")
    expect(chain).to_have_attribute("data-state", "idle")
    expect(chain).to_contain_text("just now")


def test_cleanup_buttons_start_their_chains(admin: Page) -> None:
    page = admin
    page.goto("/settings")
    expect(page.locator("#retention-secrets")).to_have_value("30")
    expect(page.locator("#retention-events")).to_have_value("180")
    page.click("#cleanup-secrets-form button[type=submit]")
    expect(page.locator("#cleanup-secrets-result")).to_contain_text("of secrets")
    page.fill("#retention-events", "365")
    page.click("#cleanup-events-form button[type=submit]")
    expect(page.locator("#cleanup-events-result")).to_contain_text("of events")


def test_seed_demo_data_in_the_embedded_default(admin: Page) -> None:
    page = admin
    page.goto("/settings")
    page.click("#seed-button")
    expect(page.locator("#seed-result")).to_contain_text("Wrote 36 demo secrets")
    screenshot(page, "settings")
    page.click("#seed-result a")
    page.wait_for_url(re.compile(r"ns=demo"))
    table = page.locator("#secrets-table")
    expect(table.locator(".badge-expired").first).to_be_visible()
    expect(table).to_contain_text("owner")
    page.click("#secrets-table a.secret-name >> text=STRIPE_SECRET_KEY")
    expect(page.locator("#detail-heading")).to_have_text("STRIPE_SECRET_KEY")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "secrets-demo")
