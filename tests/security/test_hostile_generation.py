"""Hostile catalog text through generation and review (a tiny random Llama on CPU): the generation
job completes over every hostile product and writes plain-text drafts, the review queue shows
them escaped, and a reviewer's hostile edit is published exactly as written, returned as JSON
data by the storefront API and escaped on the product page."""

from __future__ import annotations

import pytest

from contentgen.models import CopyDraft
from contentgen.review.services import draft_edit_approve
from contentgen.services import generation_request
from merchandising.catalog.models import Product
from merchandising.catalog.services import product_import_csv
from merchandising.jobs.models import Job
from tests.security import hostile
from tests.security.test_hostile_content import hostile_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory) -> str:
    from tests.contentgen.conftest import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"))


def test_hostile_products_through_generation_review_and_the_storefront(
    api, client, shop, settings, tiny_model_path, django_capture_on_commit_callbacks
):
    settings.CONTENTGEN_BASE_MODEL = tiny_model_path
    settings.CONTENTGEN_MAX_NEW_TOKENS = 8
    settings.CONTENTGEN_BATCH_SIZE = 8
    product_import_csv(merchant=shop.merchant, data=hostile_csv())
    products = list(Product.objects.filter(merchant=shop.merchant).order_by("sku"))
    assert len(products) == len(hostile.TITLES)

    with django_capture_on_commit_callbacks(execute=True):
        job = generation_request(
            merchant=shop.merchant, kinds=["description"], all_products=True, variants=1
        )
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    drafts = CopyDraft.objects.filter(job=job)
    assert drafts.count() == len(products)
    assert all(isinstance(d.text, str) for d in drafts)

    client.force_login(shop.reviewer)
    queue = client.get(f"/m/{shop.merchant.slug}/content/review/")
    assert queue.status_code == 200
    hostile.assert_no_raw_markup(queue.content.decode(), "review queue")

    draft = drafts.get(product__title=hostile.TITLES["script"])
    text = f"Copper pan {hostile.SCRIPT} {hostile.RTL} {hostile.EMOJI} {hostile.ZALGO}"
    draft_edit_approve(
        draft=draft,
        user=shop.reviewer,
        text=text,
        note="markup kept on purpose",
        approve_anyway=True,
    )
    product = draft.product
    assert {c.field: c.value for c in product.live_copy.all()}["description"] == text

    api.credentials(HTTP_X_STOREFRONT_KEY=shop.publishable_key)
    served = api.get(f"/api/v1/storefront/products/{product.sku}")
    assert served.status_code == 200
    assert served["Content-Type"].startswith("application/json")
    assert served.json()["copy"]["description"] == text

    page = client.get(f"/m/{shop.merchant.slug}/catalog/{product.pk}/").content.decode()
    hostile.assert_no_raw_markup(page, "product page")
    assert "Copper pan &lt;script&gt;window.__xss=1&lt;/script&gt;" in page
