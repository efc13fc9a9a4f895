"""What the dashboard walkthrough found broken, as a merchant sees it: styled error pages, an
honest copy history, jobs that say why they failed and who cancelled them, importing the
valid rows of a failed import, and experiment variants described in words."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from contentgen.review import services as review_services
from merchandising.catalog.models import CopyRevision, LiveCopy, Product
from merchandising.catalog.services import product_import_submit
from merchandising.experiments import services as experiments
from merchandising.jobs.models import Job
from merchandising.storefront.services import placement_create
from tests.contentgen.review.drafts import GOOD_SEO_TITLE, make_draft

BAD_CSV = b"sku,title,price\nN-1,Fine pan,12.00\nN-2,,3\nN-3,Good lid,abc\nN-4,Handle,4.50\n"


def page(client, shop, path: str = ""):
    return client.get(f"/m/{shop.merchant.slug}/{path}")


def test_a_page_the_role_may_not_use_is_a_styled_403_with_navigation(client, shop):
    client.force_login(shop.reviewer)
    response = page(client, shop, "settings/keys/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in html and "reviewer" in html
    assert 'aria-label="Main"' in html and f'href="/m/{shop.merchant.slug}/"' in html
    assert "merchlab.css" in html


def test_a_missing_page_is_a_styled_404_and_500_has_a_way_home(client, shop):
    client.force_login(shop.owner)
    response = page(client, shop, "catalog/999999/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "This page does not exist" in html and 'aria-label="Main"' in html
    # handler500 renders with no context at all: the page must still render.
    error = render_to_string("500.html")
    assert "Something went wrong" in error and 'href="/"' in error


def test_copy_history_marks_segments_the_live_text_and_hand_edits(client, shop, products):
    product = products[0]
    original = LiveCopy.objects.get(product=product, field="description").value
    # An approval for one shopper segment: the general copy stays as it was.
    review_services.draft_approve(
        draft=make_draft(product, "seo_title", GOOD_SEO_TITLE, segment="12"), user=shop.reviewer
    )
    client.force_login(shop.owner)
    form = {
        "sku": product.sku,
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": "49.90",
        "currency": product.currency,
        "stock": "5",
        "status": "active",
        "tags": "",
        "image_url": "",
        "attributes": "",
        "description": "Typed by the owner: a heavy copper saucepan.",
        "seo_title": "",
        "seo_description": "",
    }
    response = client.post(f"/m/{shop.merchant.slug}/catalog/{product.pk}/", form)
    assert response.status_code == 302, [
        line for line in response.content.decode().splitlines() if 'role="alert"' in line
    ]
    edit = CopyRevision.objects.filter(product=product, field="description").latest("id")
    assert edit.source == "edited" and edit.previous_value == original

    for path in (f"catalog/{product.pk}/", f"content/review/products/{product.pk}/"):
        html = page(client, shop, path).content.decode()
        history = html[html.index('id="copy-history"') :]
        rows = history.split("<tr")[2:]
        newest = rows[0]
        assert "Typed by the owner" in newest and "edited" in newest
        assert "live" in newest and "Revert to this" not in newest
        segment_row = next(r for r in rows if GOOD_SEO_TITLE in r)
        assert "segment</span> segment 12" in segment_row and "everyone" not in segment_row
        assert "Revert to this" not in segment_row  # the segment's live text
        first = next(r for r in rows if original in r)
        assert "Revert to this" in first and "everyone" in first


def test_failed_import_says_why_and_imports_the_valid_rows(
    client, shop, django_capture_on_commit_callbacks
):
    client.force_login(shop.owner)
    with django_capture_on_commit_callbacks(execute=True):
        failed = product_import_submit(
            merchant=shop.merchant, data=BAD_CSV, filename="stock.csv", user=shop.owner
        )
    failed.refresh_from_db()
    assert failed.status == Job.Status.FAILED
    listing = page(client, shop, "jobs/").content.decode()
    assert "Failed: 2 of 4 rows have problems" in listing
    detail = page(client, shop, f"jobs/{failed.pk}/").content.decode()
    assert 'id="job-progress"' not in detail
    assert "Import the 2 valid rows" in detail

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/m/{shop.merchant.slug}/jobs/{failed.pk}/import-valid/")
    assert response.status_code == 302
    second = Job.objects.exclude(pk=failed.pk).get(kind="catalog_import")
    assert second.status == Job.Status.SUCCEEDED and second.params["partial"] is True
    assert set(Product.objects.filter(merchant=shop.merchant).values_list("sku", flat=True)) == {
        "N-1",
        "N-4",
    }
    # Nothing left to import from a file that was imported already.
    client.post(f"/m/{shop.merchant.slug}/jobs/{second.pk}/import-valid/")
    assert Job.objects.filter(kind="catalog_import").count() == 2


def test_queued_and_cancelled_jobs_read_plainly(client, shop):
    queued = Job.objects.create(merchant=shop.merchant, kind="catalog_import")
    client.force_login(shop.editor)
    detail = page(client, shop, f"jobs/{queued.pk}/").content.decode()
    message = detail[detail.index('id="job-message"') :].split("</p>")[0]
    assert "Waiting for a worker" in message and "·" not in message
    client.post(f"/m/{shop.merchant.slug}/jobs/{queued.pk}/cancel/")
    queued.refresh_from_db()
    assert queued.status == Job.Status.CANCELLED
    assert f"Cancelled by {shop.editor.username}" in page(client, shop, "jobs/").content.decode()


def test_placement_variant_settings_read_in_words(client, shop):
    placement = placement_create(merchant=shop.merchant, key="pdp", name="Product page")
    experiment = experiments.experiment_create(
        merchant=shop.merchant,
        key="pdp-pop",
        name="Best-sellers on product pages",
        kind="placement",
        placement=placement,
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True},
            {"name": "B", "weight": 0.5, "payload": {"strategy": "popularity", "limit": 4}},
        ],
    )
    client.force_login(shop.reviewer)
    html = page(client, shop, f"experiments/{experiment.pk}/").content.decode()
    assert "Strategy: Most popular" in html and "Shows 4 products" in html
    assert "{&#x27;strategy&#x27;" not in html and "{'strategy'" not in html


@pytest.mark.parametrize("path", ["", "catalog/", "jobs/", "recommendations/models/"])
def test_pages_have_the_menu_badge_and_api_docs_link(client, shop, products, path):
    make_draft(products[0], "seo_title", GOOD_SEO_TITLE)
    client.force_login(shop.owner)
    html = page(client, shop, path).content.decode()
    assert 'class="menu-toggle' in html and 'aria-controls="main-nav"' in html
    assert 'id="drafts-badge">1<' in html
    assert 'href="/api/docs/"' in html and "favicon.svg" in html


def test_catalog_sorts_in_the_url_and_acts_on_a_selection(client, shop, products):
    client.force_login(shop.editor)
    html = page(client, shop, "catalog/?sort=-sku").content.decode()
    assert html.index(products[2].sku) < html.index(products[0].sku)
    assert 'aria-sort="descending"' in html and 'name="sort" value="-sku"' in html
    assert html.count(f'href="/m/{shop.merchant.slug}/catalog/{products[0].pk}/"') == 2
    bulk = f"/m/{shop.merchant.slug}/catalog/bulk/"
    response = client.post(
        bulk, {"sku": [products[0].sku, products[1].sku], "bulk_action": "generate"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"content/?skus={products[0].sku}+{products[1].sku}")
    form = client.get(response["Location"]).content.decode()
    assert f"{products[0].sku} {products[1].sku}" in form
    client.post(bulk, {"sku": [products[0].sku], "bulk_action": "archive"})
    assert [p.status for p in Product.objects.filter(merchant=shop.merchant).order_by("sku")] == [
        "archived",
        "active",
        "active",
    ]
    detail = page(client, shop, f"catalog/{products[1].pk}/").content.decode()
    assert f"content/?skus={products[1].sku}" in detail and "View drafts" in detail
