"""A real Celery worker runs a Shopify import job: the file streamed from storage, the job's
progress and its result."""

from __future__ import annotations

import os

import pytest

from merchandising.catalog.models import Product, ProductListing
from merchandising.catalog.services import product_import_submit
from tests.foundation.test_celery_worker import wait_for, worker  # noqa: F401  (fixture)

from .test_shopify import GOOD

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)"),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the worker process must share the test database: needs PostgreSQL (CI uses it)",
    ),
]


def test_worker_imports_a_shopify_export(shop, worker):  # noqa: F811
    job = product_import_submit(
        merchant=shop.merchant,
        data=("\ufeff" + GOOD).encode(),
        filename="products_export_1.csv",
        format="shopify",
    )
    finished = wait_for(job.pk)
    assert finished.status == "succeeded", finished.error
    assert finished.progress == 100 and finished.result["created"] == 2
    assert finished.result["summary"].startswith("Imported 2 products")
    assert Product.objects.filter(merchant=shop.merchant).count() == 2
    assert ProductListing.objects.filter(merchant=shop.merchant, platform="shopify").count() == 2
