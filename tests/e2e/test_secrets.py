"""The secrets and activity pages, driven in Chromium against the running app."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import STALE_NAMESPACE, namespace, screenshot

pytestmark = pytest.mark.slow

VALUE = "sk-abcdefghijklmnopxyz9"


def test_secret_lifecycle_from_add_to_delete(admin: Page) -> None:
    page = admin
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ns = namespace("life")
    page.goto(f"/secrets?ns={ns}")
    screenshot(page, "secrets-empty-namespace")

    # An empty namespace opens the add form.
    page.fill("#add-name", "OPENAI_API_KEY")
    page.fill("#add-value", VALUE)
    page.fill("#add-metadata", '{"owner": "ml-platform"}')
    page.click("#add-form button[type=submit]")
    detail = page.locator("#secret-detail")
    expect(detail.locator(".notice")).to_have_text("Secret added.")
    expect(page.locator("#secrets-table")).to_contain_text("OPENAI_API_KEY")
    expect(page.locator("#secrets-table")).to_contain_text("owner")

    # Masked: the first and last four characters, and the value is nowhere in the page.
    expect(detail.locator(".value-masked")).to_have_text("sk-a\u2026xyz9")
    assert VALUE not in page.content()
    screenshot(page, "secrets-detail-masked")

    # Reveal is its own request; copy goes through navigator.clipboard.
    page.click("#reveal-button")
    expect(page.locator("#secret-value-text")).to_have_text(VALUE)
    page.click("[data-copy-from=secret-value-text]")
    expect(page.locator(".copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == VALUE
    screenshot(page, "secrets-detail-revealed")

    # Replace the value: a value of 8 characters or less is masked whole.
    page.click("#secret-detail summary:has-text('Replace the value')")
    page.fill("#replace-value", "short")
    page.click("#replace-form button[type=submit]")
    expect(detail.locator(".notice")).to_have_text("Value replaced.")
    expect(detail.locator(".value-masked")).to_have_text("\u2022" * 8)

    # A failing edit shows the API's message next to its form; a good one saves.
    page.click("#secret-detail summary:has-text('Edit metadata and expiry')")
    page.fill("#edit-metadata", "[1, 2]")
    page.click("#edit-form button[type=submit]")
    expect(page.locator("#edit-form-error")).to_contain_text(
        "invalid_argument metadata must be a JSON object"
    )
    screenshot(page, "secrets-edit-error")
    page.fill("#edit-metadata", '{"owner": "ml-platform", "tier": 1}')
    page.check("#edit-expiry-in")
    page.fill("#edit-ttl-amount", "2")
    page.select_option("#edit-ttl-unit", "hours")
    page.click("#edit-form button[type=submit]")
    expect(detail.locator(".notice")).to_have_text("Metadata and expiry saved.")
    expect(detail).to_contain_text("tier")
    expect(detail).to_contain_text("in 2 hours")

    # Its events, newest first, in words, with who did it.
    page.click("text=View activity")
    page.wait_for_url(re.compile(r"/activity\?"))
    rows = page.locator("#events-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("updated: metadata, ttl")
    expect(rows.nth(1)).to_contain_text("updated: value")
    expect(rows.nth(2)).to_contain_text("created")
    expect(rows.nth(0)).to_contain_text("bootstrap admin")
    screenshot(page, "activity-secret")

    # Delete, after the confirmation (the fixture accepts it).
    page.goto(f"/secrets?ns={ns}&name=OPENAI_API_KEY")
    page.click("#delete-button")
    expect(detail).to_contain_text("Deleted \u201cOPENAI_API_KEY\u201d")
    expect(page.locator("#secrets-table")).not_to_contain_text("OPENAI_API_KEY")
    page.goto(f"/activity?ns={ns}&type=deleted")
    expect(page.locator("#events-table tbody tr")).to_have_count(1)
    expect(page.locator("#events-table")).to_contain_text("deleted")


def test_activity_filters_by_type_and_reads_as_sentences(admin: Page) -> None:
    page = admin
    ns = namespace("activity")
    page.goto(f"/secrets?ns={ns}")
    for name in ("DB_PASSWORD", "API_KEY"):
        page.fill("#add-name", name)
        page.fill("#add-value", "value-" + name)
        page.click("#add-form button[type=submit]")
        expect(page.locator("#secret-detail #detail-heading")).to_have_text(name)
    page.goto(f"/activity?ns={ns}")
    page.select_option("#filter-type", "created")
    page.click("#events-filter button[type=submit]")
    expect(page.locator("#events-table tbody tr")).to_have_count(2)
    page.fill("#filter-name", "API_KEY")
    page.click("#events-filter button[type=submit]")
    expect(page.locator("#events-table tbody tr")).to_have_count(1)
    expect(page.locator("#events-table")).to_contain_text("API_KEY")
    assert "name=API_KEY" in page.url  # the filter is in the URL, so it survives a reload


def test_search_by_name_prefix_and_keyset_paging(admin: Page) -> None:
    page = admin
    page.goto(f"/secrets?ns={STALE_NAMESPACE}")
    names = page.locator("#secrets-table a.secret-name")
    expect(names).to_have_count(25)
    first_page = names.all_inner_texts()

    page.click("#secrets-table a[rel=next]")
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(names).to_have_count(25)
    assert not set(names.all_inner_texts()) & set(first_page)

    page.fill("#search-input", "LEGACY_11")
    page.press("#search-input", "Enter")
    expect(names).to_have_count(10)
    assert all(name.startswith("LEGACY_11") for name in names.all_inner_texts())
    screenshot(page, "secrets-search")


def test_namespace_switcher_lists_visible_namespaces_and_accepts_typing(admin: Page) -> None:
    page = admin
    page.goto(f"/secrets?ns={STALE_NAMESPACE}")
    options = page.locator("#namespace-list option")
    assert STALE_NAMESPACE in [
        options.nth(i).get_attribute("value") for i in range(options.count())
    ]
    typed = namespace("typed")
    page.fill("#ns-input", typed)
    page.click("#namespace-form button[type=submit]")
    expect(page.locator("#list-heading")).to_contain_text(typed)
    expect(page).to_have_url(re.compile(f"ns={typed}"))
    page.fill("#ns-input", "-not a namespace")
    page.click("#namespace-form button[type=submit]")
    expect(page.locator("#main")).to_contain_text("invalid_argument namespace must be")


def test_sign_out_ends_the_session(admin: Page) -> None:
    page = admin
    page.click("#logout-form button")
    page.wait_for_url("**/login")
    page.goto("/secrets")
    expect(page).to_have_url(re.compile(r"/login$"))
