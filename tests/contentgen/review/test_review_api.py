"""The review API: who may decide, what each call answers, and the storefront serving live copy only."""

from __future__ import annotations

import pytest

from contentgen.models import CopyDraft
from contentgen.review.models import ReviewDecision
from merchandising.catalog.models import LiveCopy
from tests.conftest import PASSWORD
from tests.contentgen.review.drafts import GOOD_HEADLINES, GOOD_SEO_TITLE, make_draft

pytestmark = pytest.mark.django_db


def as_user(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def approve(client, draft, **body):
    return client.post(
        f"/api/v1/review/drafts/{draft.pk}/approve", body, content_type="application/json"
    )


@pytest.mark.parametrize("role,allowed", [("owner", True), ("reviewer", True), ("editor", False)])
def test_only_reviewers_and_owners_decide(client, shop, products, role, allowed):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    as_user(client, getattr(shop, role))
    assert client.get("/api/v1/review/drafts").status_code == 200  # everyone may read
    response = approve(client, draft)
    assert response.status_code == (200 if allowed else 403)
    draft.refresh_from_db()
    assert draft.status == ("approved" if allowed else "pending")
    reject = client.post(
        f"/api/v1/review/drafts/{make_draft(products[1], 'seo_title', GOOD_SEO_TITLE).pk}/reject",
        {"reason": "generic"},
        content_type="application/json",
    )
    assert reject.status_code == (200 if allowed else 403)


def test_secret_key_acts_as_owner_and_is_named_in_the_log(api, shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    response = api.as_key(shop.secret_key).post(
        f"/api/v1/review/drafts/{draft.pk}/approve", {}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["actor"].startswith("API key server")


def test_list_filter_and_read_drafts(api, shop, products):
    good = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    flagged = make_draft(products[1], "seo_title", "Steel saucepan by Kuchen, 3 l")
    make_draft(products[2], "ad_headline", GOOD_HEADLINES)
    client = api.as_key(shop.secret_key)

    everything = client.get("/api/v1/review/drafts").json()
    assert everything["count"] == 3
    hard = client.get("/api/v1/review/drafts", {"flag": "hard"}).json()["results"]
    assert [d["id"] for d in hard] == [flagged.pk]
    assert hard[0]["flags"][0]["severity"] == "hard" and not hard[0]["passed"]
    material = client.get("/api/v1/review/drafts", {"flag": "unsupported_material"}).json()
    assert [d["id"] for d in material["results"]] == [flagged.pk]
    lists = client.get("/api/v1/review/drafts", {"kind": "ad_headline"}).json()["results"]
    assert lists[0]["text"] == GOOD_HEADLINES
    one = client.get(f"/api/v1/review/drafts/{good.pk}").json()
    assert one["text"] == GOOD_SEO_TITLE and one["stale"] is False


def test_second_decision_gets_409_and_nothing_changes(api, shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    client = api.as_key(shop.secret_key)
    assert (
        client.post(f"/api/v1/review/drafts/{draft.pk}/approve", {}, format="json").status_code
        == 200
    )
    again = client.post(
        f"/api/v1/review/drafts/{draft.pk}/reject", {"reason": "generic"}, format="json"
    )
    assert again.status_code == 409
    assert "already decided" in again.json()["detail"]
    assert again.json()["decision"]["action"] == "approve"
    assert ReviewDecision.objects.filter(draft=draft).count() == 1


def test_hard_flag_answers_400_until_approved_anyway(api, shop, products):
    draft = make_draft(products[0], "seo_title", "Steel saucepan by Kuchen, 3 l")
    client = api.as_key(shop.secret_key)
    refused = client.post(f"/api/v1/review/drafts/{draft.pk}/approve", {}, format="json")
    assert refused.status_code == 400 and "approve anyway" in refused.json()["detail"]
    ok = client.post(
        f"/api/v1/review/drafts/{draft.pk}/approve",
        {"approve_anyway": True, "note": "Checked with the supplier."},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["approved_anyway"] is True


def test_edit_approve_and_history(api, shop, products):
    product = products[0]
    draft = make_draft(product, "ad_headline", GOOD_HEADLINES)
    client = api.as_key(shop.secret_key)
    bad = client.post(
        f"/api/v1/review/drafts/{draft.pk}/edit-approve",
        {"text": ["Stainless steel pan", "Heats fast", "Holds 2 l"]},
        format="json",
    )
    assert bad.status_code == 400 and "stainless steel" in bad.json()["detail"]
    ok = client.post(
        f"/api/v1/review/drafts/{draft.pk}/edit-approve",
        {"text": ["Kuchen copper pan", "Heats fast", "Holds 2 l"]},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["edited"] is True
    assert LiveCopy.objects.get(product=product, field="ad_headlines").value == [
        "Kuchen copper pan",
        "Heats fast",
        "Holds 2 l",
    ]
    history = client.get(f"/api/v1/review/products/{product.sku}/history").json()
    assert history[0]["field"] == "ad_headlines"
    assert history[0]["decision"]["action"] == "edit_approve"
    assert history[0]["decision"]["draft_text"] == GOOD_HEADLINES
    original = next(h for h in history if h["field"] == "description")
    reverted = client.post(
        f"/api/v1/review/products/{product.sku}/revert",
        {"revision_id": original["revision_id"]},
        format="json",
    )
    assert reverted.status_code == 400  # that description is already the live one
    log = client.get("/api/v1/review/decisions").json()["results"]
    assert [d["action"] for d in log] == ["edit_approve"]


def test_bulk_api(api, shop, products):
    drafts = [make_draft(p, "seo_title", GOOD_SEO_TITLE) for p in products]
    client = api.as_key(shop.secret_key)
    response = client.post(
        "/api/v1/review/drafts/bulk",
        {"action": "reject", "draft_ids": [d.pk for d in drafts[:2]]},
        format="json",
    )
    assert response.status_code == 400  # a reason is needed
    response = client.post(
        "/api/v1/review/drafts/bulk",
        {"action": "reject", "draft_ids": [d.pk for d in drafts[:2]], "reason": "generic"},
        format="json",
    ).json()
    assert len(response["decided"]) == 2 and response["summary"].startswith("Rejected 2")
    response = client.post(
        "/api/v1/review/drafts/bulk",
        {"action": "approve", "draft_ids": [d.pk for d in drafts]},
        format="json",
    ).json()
    assert len(response["decided"]) == 1 and len(response["skipped"]) == 2


def test_another_merchants_draft_is_not_found(api, shop, other_shop, products):
    from merchandising.catalog.services import product_bulk_upsert
    from tests.conftest import product_rows

    product_bulk_upsert(merchant=other_shop.merchant, items=product_rows(1, prefix="OTHER"))
    theirs = make_draft(other_shop.merchant.products.get(), "seo_title", GOOD_SEO_TITLE)
    client = api.as_key(shop.secret_key)
    assert client.get(f"/api/v1/review/drafts/{theirs.pk}").status_code == 404
    assert (
        client.post(f"/api/v1/review/drafts/{theirs.pk}/approve", {}, format="json").status_code
        == 404
    )
    bulk = client.post(
        "/api/v1/review/drafts/bulk", {"action": "approve", "draft_ids": [theirs.pk]}, format="json"
    ).json()
    assert bulk["skipped"] == {str(theirs.pk): "not found"}
    theirs.refresh_from_db()
    assert theirs.status == CopyDraft.Status.PENDING


def test_storefront_serves_only_live_copy(api, shop, products):
    """A draft is never served before approval; after approval it is the live copy (lists as lists)."""
    product = products[0]
    seo = make_draft(product, "seo_title", GOOD_SEO_TITLE)
    headlines = make_draft(product, "ad_headline", GOOD_HEADLINES)
    storefront = api.as_storefront(shop.publishable_key)
    url = f"/api/v1/storefront/products/{product.sku}"

    before = storefront.get(url, {"visitor_id": "v-1"})
    assert before.status_code == 200
    body = before.content.decode()
    assert GOOD_SEO_TITLE not in body and GOOD_HEADLINES[0] not in body
    assert before.json()["copy"] == {"description": "A copper saucepan, number 0."}

    from contentgen.review import services

    services.draft_reject(draft=headlines, user=shop.reviewer, reason="generic")
    services.draft_approve(draft=seo, user=shop.reviewer)

    after = storefront.get(url, {"visitor_id": "v-1"}).json()
    assert after["copy"]["seo_title"] == GOOD_SEO_TITLE
    assert "ad_headlines" not in after["copy"]  # rejected: never served

    approved_list = make_draft(product, "ad_headline", GOOD_HEADLINES, variant=1)
    services.draft_approve(draft=approved_list, user=shop.reviewer)
    served = storefront.get(url).json()["copy"]["ad_headlines"]
    assert served == GOOD_HEADLINES and isinstance(served, list)


def test_experiment_arm_through_the_api_and_editors_cannot(client, api, shop, products):
    draft = make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    as_user(client, shop.editor)
    denied = client.post(
        f"/api/v1/review/drafts/{draft.pk}/experiment", {}, content_type="application/json"
    )
    assert denied.status_code == 403
    response = api.as_key(shop.secret_key).post(
        f"/api/v1/review/drafts/{draft.pk}/experiment", {"key": "seo-title-test"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["action"] == "experiment" and response.json()["experiment_id"]
    again = api.post(f"/api/v1/review/drafts/{draft.pk}/experiment", {}, format="json")
    assert again.status_code == 409
