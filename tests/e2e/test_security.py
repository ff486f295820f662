"""The browser-side defences: CSP against inline script, escaping, CSRF, cookie flags."""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.support import namespace, screenshot, sign_in
from tests.keys import ADMIN_TOKEN

pytestmark = pytest.mark.slow

# A name cannot hold "/" (API.md), so the closing tag goes in the value instead;
# the <img> name is the one that would run if it reached innerHTML unescaped.
SCRIPT_NAME = "<script>"
IMG_NAME = "<img src=x onerror=alert(1)>"
SCRIPT_VALUE = "<script>alert(1)</script>"


def _signed_in(context: BrowserContext) -> tuple[Page, list[str]]:
    """A signed-in page that records (and dismisses) every dialog it opens."""
    page = context.new_page()
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    sign_in(page, ADMIN_TOKEN)
    page.wait_for_url("**/secrets")
    return page, dialogs


def test_inline_script_is_blocked_by_the_content_security_policy(context: BrowserContext) -> None:
    page, dialogs = _signed_in(context)
    response = page.goto("/secrets")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy

    page.evaluate(
        """() => {
            window.__violations = [];
            document.addEventListener("securitypolicyviolation",
                (event) => window.__violations.push(event.violatedDirective));
        }"""
    )
    with contextlib.suppress(PlaywrightError):  # the refused script may be reported as an error
        page.add_script_tag(content="window.__inlineRan = true;")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__appendedRan = true; alert('inline');";
            document.body.appendChild(script);
        }"""
    )
    page.wait_for_function("window.__violations.length >= 2")
    assert page.evaluate("window.__inlineRan === undefined && window.__appendedRan === undefined")
    assert all(v.startswith("script-src") for v in page.evaluate("window.__violations"))
    assert dialogs == []
    # The app's own script, served from its origin, did run.
    assert page.evaluate("typeof htmx") == "object"


def test_secrets_named_like_markup_show_as_text(context: BrowserContext) -> None:
    page, dialogs = _signed_in(context)
    ns = namespace("xss")
    page.goto(f"/secrets?ns={ns}")
    for name in (SCRIPT_NAME, IMG_NAME):
        page.fill("#add-name", name)
        page.fill("#add-value", SCRIPT_VALUE)
        page.fill("#add-metadata", '{"note": "<b>bold</b>"}')
        page.click("#add-form button[type=submit]")
        expect(page.locator("#detail-heading")).to_have_text(name)
    names = page.locator("#secrets-table a.secret-name")
    expect(names).to_have_count(2)
    assert sorted(names.all_inner_texts()) == sorted([SCRIPT_NAME, IMG_NAME])
    expect(page.locator("#secrets-table .chip").first).to_contain_text("<b>bold</b>")
    page.click("#reveal-button")
    expect(page.locator("#secret-value-text")).to_have_text(SCRIPT_VALUE)
    markup = "#main script, #main img, #main b"
    assert page.locator(markup).count() == 0
    page.goto(f"/activity?ns={ns}")
    expect(page.locator("#events-table")).to_contain_text(IMG_NAME)
    assert page.locator(markup).count() == 0
    assert dialogs == []
    screenshot(page, "activity-escaped-names")


def test_state_changes_without_the_csrf_token_are_refused(context: BrowserContext) -> None:
    page, _ = _signed_in(context)
    ns = namespace("csrf")
    form: dict[str, str | float | bool] = {"namespace": ns, "name": "FORGED", "value": "x"}
    # The session cookie goes along (same browser context); the token does not.
    assert page.request.post("/secrets", form=form).status == 403
    forged = page.request.post("/secrets", form=form, headers={"x-csrftoken": "0" * 128})
    assert forged.status == 403
    page.goto(f"/secrets?ns={ns}")
    expect(page.locator("#secrets-table")).not_to_contain_text("FORGED")


def test_session_and_csrf_cookies_are_http_only_and_strict(context: BrowserContext) -> None:
    _signed_in(context)
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    for name in ("secretstore_session", "secretstore_csrf"):
        assert cookies[name]["httpOnly"] is True
        assert cookies[name]["sameSite"] == "Strict"
