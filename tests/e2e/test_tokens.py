"""Tokens: created and shown once, what a limited token sees, revocation at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.support import namespace, screenshot, sign_in

pytestmark = pytest.mark.slow


def test_a_wrong_token_is_refused_next_to_the_form(browser: Browser, deployment: str) -> None:
    context = browser.new_context(base_url=deployment)
    page = context.new_page()
    sign_in(page, "sst_not-a-real-token")
    expect(page.locator("#login-form-error")).to_contain_text(
        "unauthorized unknown, revoked or expired token"
    )
    screenshot(page, "login-refused")
    context.close()


def test_token_is_shown_once_limits_its_holder_and_revocation_signs_it_out(
    admin: Page, browser: Browser, deployment: str
) -> None:
    page = admin
    ns = namespace("tok")
    page.goto(f"/secrets?ns={ns}")
    page.fill("#add-name", "SHARED_SECRET")
    page.fill("#add-value", "shared-value-123")
    page.click("#add-form button[type=submit]")
    expect(page.locator("#detail-heading")).to_have_text("SHARED_SECRET")

    page.goto("/tokens")
    page.fill("#token-name", "e2e-reader")
    page.fill("#token-namespaces", ns)
    # read and list are checked by default
    page.click("#token-form button[type=submit]")
    token_text = page.inner_text("#new-token-text")
    assert token_text.startswith("sst_")
    row = page.locator("#token-list tbody tr", has_text="e2e-reader")
    expect(row).to_contain_text(ns)
    expect(row).to_contain_text("active")
    screenshot(page, "tokens")
    page.reload()
    assert token_text not in page.content(), "the token text is shown once only"

    # Its holder sees only its namespace and capabilities.
    reader_context = browser.new_context(base_url=deployment)
    reader = reader_context.new_page()
    sign_in(reader, token_text)
    reader.wait_for_url("**/secrets")
    # It lands on the one namespace it names, not on "default" which it may not see.
    expect(reader.locator("#list-heading")).to_contain_text(ns)
    nav = reader.locator(".mainnav")
    expect(nav).to_contain_text("Secrets")
    for hidden in ("Activity", "Settings", "Tokens"):
        expect(nav).not_to_contain_text(hidden)
    reader.goto(f"/secrets?ns={ns}")
    expect(reader.locator("#secrets-table")).to_contain_text("SHARED_SECRET")
    expect(reader.locator("#add-form")).to_have_count(0)
    reader.click("text=SHARED_SECRET")
    expect(reader.locator(".value-masked")).to_have_text("shar\u2026-123")
    expect(reader.locator("#delete-button")).to_have_count(0)
    screenshot(reader, "secrets-read-only-token")
    reader.goto("/secrets?ns=default")
    expect(reader.locator("#main")).to_contain_text("forbidden")
    response = reader.goto("/settings")
    assert response is not None and response.status == 403

    # Revoked by the admin: the reader's next request lands on the login page...
    row.locator("button", has_text="Revoke").click()
    expect(row).to_contain_text("revoked")
    reader.goto(f"/secrets?ns={ns}")
    expect(reader).to_have_url(re.compile(r"/login$"))
    # ...and the token cannot sign in again.
    sign_in(reader, token_text)
    expect(reader.locator("#login-form-error")).to_contain_text("unauthorized")
    reader_context.close()


def test_a_scoped_admin_sees_only_its_own_tokens_and_no_settings(
    admin: Page, browser: Browser, deployment: str
) -> None:
    ns = namespace("scope")
    page = admin
    page.goto("/tokens")
    page.fill("#token-name", "e2e-scoped-admin")
    page.fill("#token-namespaces", f"{ns}:*")
    page.check("#token-form input[name=capabilities][value=admin]")
    page.fill("#token-ttl", "1")
    page.click("#token-form button[type=submit]")
    scoped_text = page.inner_text("#new-token-text")
    page.fill("#token-name", "e2e-elsewhere")
    page.fill("#token-namespaces", "e2e-elsewhere:*")
    page.click("#token-form button[type=submit]")
    expect(page.locator("#token-list")).to_contain_text("e2e-elsewhere")

    scoped_context = browser.new_context(base_url=deployment)
    scoped = scoped_context.new_page()
    sign_in(scoped, scoped_text)
    scoped.wait_for_url("**/secrets")
    nav = scoped.locator(".mainnav")
    expect(nav).to_contain_text("Tokens")
    expect(nav).not_to_contain_text("Settings")
    scoped.goto("/tokens")
    expect(scoped.locator("#token-list")).to_contain_text("e2e-scoped-admin")
    expect(scoped.locator("#token-list")).not_to_contain_text("e2e-elsewhere")
    # A token it makes may not outlive it: "never" is refused next to the form.
    scoped.fill("#token-name", "e2e-forever")
    scoped.fill("#token-namespaces", f"{ns}:prod")
    scoped.click("#token-form button[type=submit]")
    expect(scoped.locator("#main")).to_contain_text("forbidden")
    screenshot(scoped, "tokens-scoped-admin")
    response = scoped.goto("/settings")
    assert response is not None and response.status == 403
    scoped_context.close()
