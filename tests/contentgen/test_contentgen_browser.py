"""In a real browser: an editor starts a generation and sees drafts with guard results appear."""

from __future__ import annotations

import pytest

from tests.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_editor_generates_copy_and_sees_drafts(
    page, live_server, shop, products, settings, tiny_checkpoint
):
    settings.CONTENTGEN_BASE_MODEL = (
        tiny_checkpoint  # a tiny local checkpoint: seconds, not minutes
    )
    settings.CONTENTGEN_MAX_NEW_TOKENS = 8
    sign_in(page, live_server, shop.editor.username)
    page.get_by_role("link", name="Content", exact=True).click()
    page.get_by_label("SKUs").fill(f"{products[0].sku} {products[1].sku}")
    page.get_by_label("Product description", exact=True).uncheck()
    page.get_by_label("Ad headlines", exact=True).uncheck()
    page.get_by_label("SEO title", exact=True).check()
    page.get_by_label("Variants").fill("1")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_selector("#generation[data-status=succeeded]")
    assert page.locator("#job-progress").get_attribute("value") == "100"
    rows = page.locator("#drafts tr.draft")
    assert rows.count() == 2
    assert products[0].sku in rows.first.inner_text()
    # every draft shows its guard verdict in words
    assert rows.first.locator(".pill").first.inner_text() in ("passed", "needs a look")
    page.get_by_role("link", name="Content", exact=True).click()
    page.get_by_role("link", name="Drafts", exact=True).click()
    assert page.locator("#drafts tr.draft").count() == 2
