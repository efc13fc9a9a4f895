"""The merchant API for platform files, the feed and the Ads export."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from merchandising.catalog.models import Product
from merchandising.catalog.services import live_copy_publish
from merchandising.jobs.models import Job

from .test_shopify import GOOD

pytestmark = pytest.mark.django_db
G = "{http://base.google.com/ns/1.0}"


def _upload(api, shop, content: bytes, capture, **fields):
    api.as_key(shop.secret_key)
    upload = SimpleUploadedFile("products_export.csv", content, content_type="text/csv")
    with capture(execute=True):
        response = api.post("/api/v1/imports", {"file": upload, **fields}, format="multipart")
    assert response.status_code == 202, response.content
    return Job.objects.get(pk=response.json()["id"])


def test_shopify_upload_is_detected_and_imported_as_a_job(
    api, shop, django_capture_on_commit_callbacks
):
    job = _upload(api, shop, ("\ufeff" + GOOD).encode(), django_capture_on_commit_callbacks)
    assert (job.params["format"], job.status, job.progress) == ("shopify", "succeeded", 100)
    assert job.result["created"] == 2
    response = api.get("/api/v1/products/export.csv?format=shopify")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [r[0] for r in rows] == ["Handle", "copper-kettle", "copper-kettle", "linen-towel"]
    assert api.get("/api/v1/products/export.csv?format=ebay").status_code == 400


def test_a_failed_shopify_import_reports_lines_and_columns(
    api, shop, django_capture_on_commit_callbacks
):
    bad = GOOD.replace("92.50", '"1.299,00"')
    job = _upload(api, shop, bad.encode(), django_capture_on_commit_callbacks, format="shopify")
    assert job.status == "failed"
    # The first product row spans lines 2-3 (a line break inside its body): the variant is on 4.
    assert [(e["line"], e["column"]) for e in job.result["errors"]] == [(4, "Variant Price")]
    assert not Product.objects.filter(merchant=shop.merchant).exists()


def _shop_with_copy(shop):
    from merchandising.catalog.services_platforms import product_import_platform

    product_import_platform(merchant=shop.merchant, fh=io.BytesIO(GOOD.encode()), format="shopify")
    kettle = Product.objects.get(merchant=shop.merchant, sku="copper-kettle")
    live_copy_publish(
        product=kettle,
        field="ad_headlines",
        value=["Copper kettle", "Hand-hammered copper", "Boils fast on gas", "x" * 31],
        source="generated",
    )
    live_copy_publish(
        product=kettle,
        field="ad_descriptions",
        value=["A 1.5 litre kettle hammered by hand.", "Free delivery over 50 EUR."],
        source="generated",
    )
    return kettle


def test_feed_is_listed_served_with_its_token_and_validates(api, shop, other_shop):
    _shop_with_copy(shop)
    api.as_key(shop.secret_key)
    feeds = api.get("/api/v1/feeds").json()["feeds"]
    url = feeds[0]["url"]
    assert "/feeds/acme/" in url
    api.credentials()  # Merchant Center fetches without any key
    response = api.get(url)
    assert response.status_code == 200
    root = ET.fromstring(b"".join(response.streaming_content))
    items = root.findall("./channel/item")
    assert len(items) == 1  # the towel is archived
    item = items[0]
    assert item.find(f"{G}id").text == "copper-kettle"
    assert item.find("link").text == "https://acme.shop.test/products/copper-kettle"
    assert item.find(f"{G}price").text == "89.00 EUR"
    assert item.find(f"{G}availability").text == "in_stock"
    assert item.find(f"{G}brand").text == "Kuchen"
    for tag in ("title", "description", "link", f"{G}image_link", f"{G}condition"):
        assert item.find(tag) is not None and item.find(tag).text
    assert len(item.find("title").text) <= 150
    wrong = url.replace("/acme/", "/globex/")
    assert api.get(wrong).status_code == 404
    assert api.get(url[:-20] + "0" * 16 + "/google-merchant.xml").status_code == 404
    download = api.get(url + "?download=1")
    assert "attachment" in download["Content-Disposition"]


def test_feed_report_lists_what_was_left_out_and_why(api, shop):
    _shop_with_copy(shop)
    Product.objects.filter(merchant=shop.merchant, sku="copper-kettle").update(image_url="")
    report = api.as_key(shop.secret_key).get("/api/v1/feeds/google-merchant/report").json()
    assert report["items"] == 0
    assert report["left_out"] == [
        {"sku": "copper-kettle", "reasons": ["image_link: the product has no image"]}
    ]


def test_google_ads_export_respects_the_limits(api, shop):
    _shop_with_copy(shop)
    response = api.as_key(shop.secret_key).get("/api/v1/exports/google-ads.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 1
    ad = rows[0]
    assert ad["Ad type"] == "Responsive search ad"
    assert ad["Ad group"] == "Home & Garden > Kitchen"
    headlines = [ad[f"Headline {n}"] for n in range(1, 16) if ad[f"Headline {n}"]]
    assert headlines == ["Copper kettle", "Hand-hammered copper", "Boils fast on gas"]
    assert all(len(h) <= 30 for h in headlines)
    assert all(len(ad[f"Description {n}"]) <= 90 for n in range(1, 5))
    assert ad["Final URL"] == "https://acme.shop.test/products/copper-kettle"
    assert (ad["Path 1"], ad["Path 2"]) == ("Home-Garden", "Kitchen")
    bad = api.get("/api/v1/exports/google-ads.csv?group_by=brand")
    assert bad.status_code == 400 and "group_by" in bad.json()["errors"]
