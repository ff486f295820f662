"""What the e2e tests share: the deployment's constants and a few page helpers."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page

from tests.support import ARTIFACTS

SCREENSHOTS = ARTIFACTS / "screenshots"

# Rows written under key version 1 before the deployment starts with versions 1 and 2.
STALE_NAMESPACE = "e2e-stale"
STALE_ROWS = 120


def namespace(label: str) -> str:
    """A namespace of the test's own, so tests sharing the deployment never meet."""
    return f"e2e-{label}-{uuid.uuid4().hex[:8]}"


def sign_in(page: Page, token: str) -> None:
    page.goto("/login")
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    # caret="initial": hiding the caret, Playwright leaves style="" on every
    # input, which htmx then copies while swapping: a CSP violation of its making.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, caret="initial")
