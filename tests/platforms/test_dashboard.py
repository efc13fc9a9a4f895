"""The dashboard's platform import page and Export menu."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from merchandising.catalog.models import Product
from merchandising.jobs.models import Job

from .test_api import _shop_with_copy
from .test_shopify import GOOD

pytestmark = pytest.mark.django_db


def test_import_page_offers_shopify_and_detects_the_format(
    client, shop, django_capture_on_commit_callbacks
):
    client.force_login(shop.editor)
    page = client.get("/m/acme/catalog/import/")
    assert "Import from Shopify / WooCommerce" in page.content.decode()
    upload = SimpleUploadedFile("products_export_1.csv", GOOD.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/m/acme/catalog/import/platform/", {"file": upload, "format": "auto"}
        )
    job = Job.objects.get(merchant=shop.merchant)
    assert response.status_code == 302 and response["Location"].endswith(f"/jobs/{job.pk}/")
    assert (job.params["format"], job.status) == ("shopify", "succeeded")
    assert Product.objects.filter(merchant=shop.merchant).count() == 2


def test_export_menu_links_every_file_and_the_feed(client, shop):
    _shop_with_copy(shop)
    client.force_login(shop.reviewer)
    menu = client.get("/m/acme/catalog/exports/").content.decode()
    assert "Shopify (2 products)" in menu
    assert "http://testserver/feeds/acme/" in menu
    shopify = client.get("/m/acme/catalog/exports/platform.csv?format=shopify")
    assert shopify.content.decode().startswith("Handle,Title,Body (HTML),SEO Title,SEO Description")
    ads = client.get("/m/acme/catalog/exports/google-ads.csv").content.decode()
    assert "Responsive search ad" in ads
    report = client.get("/m/acme/catalog/exports/report/").content.decode()
    assert "1 products listed" in report
    assert client.get("/m/acme/catalog/exports/platform.csv?format=ebay").status_code == 404


def test_a_shopify_file_on_the_plain_import_page_is_recognised(
    client, shop, django_capture_on_commit_callbacks
):
    client.force_login(shop.editor)
    upload = SimpleUploadedFile("products_export_1.csv", GOOD.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/m/acme/catalog/import/", {"file": upload, "encoding": "utf-8"})
    job = Job.objects.get(merchant=shop.merchant)
    assert (job.params["format"], job.status) == ("shopify", "succeeded")
