"""The review pages: queue grouped by product and field, decisions per role, log, CSV, report,
history with revert."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from contentgen.models import CopyDraft
from contentgen.review import services
from contentgen.review.models import ReviewDecision
from merchandising.catalog.models import LiveCopy
from tests.conftest import PASSWORD
from tests.contentgen.review.drafts import (
    GOOD_DESCRIPTION,
    GOOD_HEADLINES,
    GOOD_SEO_TITLE,
    make_draft,
)

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def url(shop, name, *args):
    return reverse(f"dashboard:{name}", args=[shop.merchant.slug, *args])


def test_queue_groups_drafts_with_live_text_diff_and_flags(client, shop, products):
    make_draft(products[0], "description", GOOD_DESCRIPTION)
    make_draft(products[0], "ad_headline", GOOD_HEADLINES)
    make_draft(products[1], "seo_title", "Steel saucepan by Kuchen, 3 l")
    login(client, shop.reviewer)
    page = client.get(url(shop, "review")).content.decode()
    assert "3 pending drafts for 2 products" in page
    assert (
        page.index(products[0].title) < page.index("ad_headlines") < page.index(products[1].title)
    )
    assert "<del>" in page  # the word diff against the live text
    assert "<ins>" in page
    assert "the product&#x27;s facts do not mention that material" in page
    assert "Approve anyway" in page
    hard_only = client.get(url(shop, "review"), {"flag": "hard"}).content.decode()
    assert "1 pending draft for 1 product" in hard_only


def test_editor_sees_the_queue_but_cannot_decide(client, shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    login(client, shop.editor)
    page = client.get(url(shop, "review")).content.decode()
    assert "reviewers and owners decide" in page and "Save and approve" not in page
    assert client.post(url(shop, "review-approve", draft.pk)).status_code == 403
    assert (
        client.post(
            url(shop, "review-bulk"), {"draft_ids": [draft.pk], "bulk_action": "approve"}
        ).status_code
        == 403
    )
    draft.refresh_from_db()
    assert draft.status == "pending"


def test_reviewer_approves_edits_and_rejects_in_the_queue(client, shop, products):
    a = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    e = make_draft(products[1], "ad_headline", GOOD_HEADLINES)
    r = make_draft(products[2], "seo_title", GOOD_SEO_TITLE)
    login(client, shop.reviewer)
    response = client.post(url(shop, "review-approve", a.pk), {"next": f"d-{e.pk}"})
    assert response.status_code == 302 and response["Location"].endswith(f"#d-{e.pk}")
    client.post(
        url(shop, "review-edit", e.pk), {"text": "Kuchen copper pan\nHeats fast\nHolds 2 l"}
    )
    client.post(url(shop, "review-reject", r.pk), {"reason": "generic", "note": "Bland."})
    page = client.get(url(shop, "review")).content.decode()
    assert "rejected (Too generic or bland)" in page
    assert LiveCopy.objects.get(product=products[0], field="seo_title").value == GOOD_SEO_TITLE
    assert LiveCopy.objects.get(product=products[1], field="ad_headlines").value == [
        "Kuchen copper pan",
        "Heats fast",
        "Holds 2 l",
    ]
    assert list(ReviewDecision.objects.order_by("id").values_list("action", flat=True)) == [
        "approve",
        "edit_approve",
        "reject",
    ]
    # deciding again shows who was first
    client.post(url(shop, "review-approve", r.pk))
    page = client.get(url(shop, "review")).content.decode()
    assert "already decided" in page and shop.reviewer.username in page


def test_archived_product_error_is_shown(client, shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    products[0].status = "archived"
    products[0].save()
    login(client, shop.owner)
    response = client.post(url(shop, "review-approve", draft.pk), follow=True)
    assert "is archived; restore it before approving" in response.content.decode()


def test_bulk_in_the_dashboard(client, shop, products):
    drafts = [make_draft(p, "seo_title", GOOD_SEO_TITLE) for p in products]
    login(client, shop.owner)
    response = client.post(
        url(shop, "review-bulk"),
        {"draft_ids": [d.pk for d in drafts[:2]], "bulk_action": "reject", "reason": "length"},
        follow=True,
    )
    assert "Rejected 2 drafts." in response.content.decode()
    assert CopyDraft.objects.filter(status="rejected").count() == 2


def test_log_csv_report_and_history_pages(client, shop, products):
    services.draft_reject(
        draft=make_draft(products[0], "seo_title", GOOD_SEO_TITLE),
        user=shop.reviewer,
        reason="claims",
    )
    services.draft_approve(
        draft=make_draft(products[0], "ad_headline", GOOD_HEADLINES), user=shop.reviewer
    )
    login(client, shop.editor)  # every role may read the log
    log = client.get(url(shop, "review-log")).content.decode()
    assert "Claims we cannot make" in log and "Approved" in log
    export = client.get(url(shop, "review-log-csv"))
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [r["action"] for r in rows] == ["approve", "reject"]
    report = client.get(url(shop, "review-report")).content.decode()
    assert "SEO title" in report and "Claims we cannot make" in report
    history = client.get(url(shop, "review-product", products[0].pk)).content.decode()
    assert "Kuchen copper saucepan" in history and "Revert to this" not in history  # editor


def test_revert_from_the_history_page(client, shop, products):
    product = products[0]
    services.draft_approve(
        draft=make_draft(product, "seo_title", GOOD_SEO_TITLE), user=shop.reviewer
    )
    services.draft_approve(
        draft=make_draft(product, "seo_title", "Kuchen copper saucepan, 2 l", variant=1),
        user=shop.reviewer,
    )
    first = product.copy_revisions.get(field="seo_title", value=GOOD_SEO_TITLE)
    login(client, shop.editor)
    assert client.post(url(shop, "review-revert", product.pk, first.pk)).status_code == 403
    login(client, shop.reviewer)
    page = client.get(url(shop, "review-product", product.pk)).content.decode()
    assert "Revert to this" in page
    response = client.post(url(shop, "review-revert", product.pk, first.pk), follow=True)
    assert "earlier text is live again" in response.content.decode()
    assert LiveCopy.objects.get(product=product, field="seo_title").value == GOOD_SEO_TITLE
    assert ReviewDecision.objects.filter(action="revert", product=product).count() == 1


def test_test_in_an_experiment_from_the_queue(client, shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    login(client, shop.reviewer)
    assert "Test in an experiment" in client.get(url(shop, "review")).content.decode()
    response = client.post(url(shop, "review-experiment", draft.pk), follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "is variant B of the new experiment" in page
    assert ReviewDecision.objects.get(draft=draft).action == "experiment"
    assert not LiveCopy.objects.filter(product=products[0], field="seo_title").exists()


def test_one_products_decisions_export(client, shop, products):
    for product in products:
        services.draft_reject(
            draft=make_draft(product, "seo_title", GOOD_SEO_TITLE),
            user=shop.reviewer,
            reason="generic",
        )
    login(client, shop.reviewer)
    page = client.get(url(shop, "review-product", products[1].pk)).content.decode()
    assert f"log.csv?sku={products[1].sku}" in page
    export = client.get(url(shop, "review-log-csv"), {"sku": products[1].sku}).content.decode()
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [r["sku"] for r in rows] == [products[1].sku]
