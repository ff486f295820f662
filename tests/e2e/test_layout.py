"""Readable on a narrow screen, usable by keyboard, and a screenshot of every page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from tests.e2e.support import STALE_NAMESPACE, screenshot, sign_in
from tests.keys import ADMIN_TOKEN

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"


def test_pages_fit_a_narrow_screen(context: BrowserContext) -> None:
    page = context.new_page()
    page.set_viewport_size(PHONE)
    sign_in(page, ADMIN_TOKEN)
    page.wait_for_url("**/secrets")
    page.goto(f"/secrets?ns={STALE_NAMESPACE}")
    _no_horizontal_scroll(page)
    screenshot(page, "narrow-secrets", full_page=False)
    page.locator("#secrets-table a.secret-name").first.click()
    expect(page.locator("#detail-heading")).to_be_focused()
    _no_horizontal_scroll(page)
    screenshot(page, "narrow-secret-detail", full_page=False)
    for path, name in (
        ("/activity", "narrow-activity"),
        ("/settings", "narrow-settings"),
        ("/tokens", "narrow-tokens"),
    ):
        page.goto(path)
        _no_horizontal_scroll(page)
        screenshot(page, name, full_page=False)


def test_the_secrets_page_works_from_the_keyboard(context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, ADMIN_TOKEN)
    page.wait_for_url("**/secrets")
    page.goto(f"/secrets?ns={STALE_NAMESPACE}")
    # The first Tab reaches the skip link, which jumps to the content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    # A secret opens from the keyboard and its panel takes the focus.
    page.locator("#secrets-table a.secret-name").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-heading")).to_be_focused()
    page.locator("#reveal-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#secret-value-text")).to_contain_text("legacy-value-")
    # Every form control has a label a screen reader can read.
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
            .map((el) => el.id || el.name)"""
    )
    assert unlabelled == []
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "secrets")


def test_login_page(context: BrowserContext) -> None:
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("label[for=token]")).to_have_text("API token")
    screenshot(page, "login")
