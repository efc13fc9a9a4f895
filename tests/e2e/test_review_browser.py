"""In a real browser: a reviewer works through the queue with the keyboard (move, approve, edit,
reject), and the storefront then serves exactly the approved copy."""

from __future__ import annotations

import pytest

from contentgen.models import CopyDraft
from contentgen.review.models import ReviewDecision
from tests.conftest import sign_in
from tests.contentgen.review.drafts import GOOD_HEADLINES, GOOD_SEO_TITLE, make_draft

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reviewer_approves_edits_and_rejects_in_the_queue(page, live_server, shop, products):
    first_variant = make_draft(products[0], "seo_title", "Kuchen copper saucepan, 2 l", variant=0)
    chosen = make_draft(products[0], "seo_title", GOOD_SEO_TITLE, variant=1)
    to_edit = make_draft(products[1], "ad_headline", GOOD_HEADLINES)
    to_reject = make_draft(products[2], "seo_title", GOOD_SEO_TITLE)
    storefront = f"{live_server.url}/api/v1/storefront/products/{products[0].sku}"
    headers = {"X-Storefront-Key": shop.publishable_key}

    # Before any decision the storefront has none of the drafts.
    before = page.request.get(storefront, headers=headers).json()
    assert "seo_title" not in before["copy"]

    sign_in(page, live_server, shop.reviewer.username)
    page.goto(f"{live_server.url}/m/{shop.merchant.slug}/content/review/")
    page.get_by_text("4 pending drafts for 3 products").wait_for()
    page.wait_for_selector(f"#d-{first_variant.pk}.current")

    # j moves to the second variant, a approves it.
    page.keyboard.press("j")
    page.wait_for_selector(f"#d-{chosen.pk}.current")
    page.keyboard.press("a")
    page.get_by_text(f"{products[0].sku} seo_title: approved and live.").wait_for()
    # the other variant is answered by this approval; the next draft is selected
    assert page.locator(f"#d-{first_variant.pk}").count() == 0
    page.wait_for_selector(f"#d-{to_edit.pk}.current")

    # e opens the editor on the headlines; the edit is saved and approved.
    page.keyboard.press("e")
    box = page.get_by_label(f"Edited text for draft {to_edit.pk}")
    assert box.evaluate("el => el === document.activeElement")
    box.fill("Kuchen copper pan\nHeats fast and evenly\nHolds 2 l")
    page.locator(f"#d-{to_edit.pk}").get_by_role("button", name="Save and approve").click()
    page.get_by_text(f"{products[1].sku} ad_headlines: edited, approved and live.").wait_for()

    # r opens the rejection form with its reasons.
    page.wait_for_selector(f"#d-{to_reject.pk}.current")
    page.keyboard.press("r")
    page.get_by_label(f"Rejection reason for draft {to_reject.pk}").select_option("generic")
    page.get_by_label(f"Rejection note for draft {to_reject.pk}").fill(
        "Reads like every other pan."
    )
    page.locator(f"#d-{to_reject.pk}").get_by_role("button", name="Reject draft").click()
    page.get_by_text(f"{products[2].sku} seo_title: rejected (Too generic or bland).").wait_for()
    page.get_by_text("No drafts wait for review").wait_for()

    statuses = dict(CopyDraft.objects.values_list("pk", "status"))
    assert statuses == {
        first_variant.pk: "superseded",
        chosen.pk: "approved",
        to_edit.pk: "approved",
        to_reject.pk: "rejected",
    }
    log = list(ReviewDecision.objects.order_by("id").values_list("action", "actor"))
    assert log == [
        ("approve", shop.reviewer.username),
        ("edit_approve", shop.reviewer.username),
        ("reject", shop.reviewer.username),
    ]

    # The decision log shows every decision.
    page.get_by_role("link", name="Decision log").click()
    page.get_by_text("Reads like every other pan.").wait_for()
    assert page.get_by_role("cell", name="Edited and approved").count() == 1

    # The storefront now serves the approved copy, the headlines as a list.
    after = page.request.get(storefront, headers=headers).json()
    assert after["copy"]["seo_title"] == GOOD_SEO_TITLE
    edited = page.request.get(
        f"{live_server.url}/api/v1/storefront/products/{products[1].sku}", headers=headers
    ).json()
    assert edited["copy"]["ad_headlines"] == [
        "Kuchen copper pan",
        "Heats fast and evenly",
        "Holds 2 l",
    ]
    rejected = page.request.get(
        f"{live_server.url}/api/v1/storefront/products/{products[2].sku}", headers=headers
    ).json()
    assert "seo_title" not in rejected["copy"]
