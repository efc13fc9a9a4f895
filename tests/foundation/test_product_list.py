"""Product lists at scale keep their answers: category filters that take sub-categories by
equality, the API list's live copy in one query, and a web process that loads its views at
start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from merchandising.catalog import selectors
from merchandising.catalog.services import live_copy_publish, product_bulk_upsert, product_update
from tests.conftest import PASSWORD, product_rows

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _catalog(shop, categories: list[str]) -> list[dict]:
    items = product_rows(len(categories))
    for item, category in zip(items, categories, strict=True):
        item["category"] = category
    product_bulk_upsert(merchant=shop.merchant, items=items)
    return items


def _api_skus(api, **params) -> list[str]:
    return [p["sku"] for p in api.get("/api/v1/products", params).json()["results"]]


def test_category_filter_takes_every_level_below_and_nothing_beside(api, shop):
    items = _catalog(
        shop,
        [
            "Garden",
            "Garden > Tools",
            "Garden > Tools > Spades",
            "Gardening Books",  # starts with the same letters, but is not below "Garden"
            "Kitchen > Garden",
        ],
    )
    sku = [i["sku"] for i in items]
    api.as_key(shop.secret_key)

    assert _api_skus(api, category="Garden") == sku[:3]
    assert _api_skus(api, category="Garden > Tools") == sku[1:3]
    assert _api_skus(api, category="Garden > Tools > Spades") == [sku[2]]
    assert _api_skus(api, category="Garden > Nowhere") == []


def test_a_sub_category_added_later_is_found_at_once(api, shop):
    items = _catalog(shop, ["Garden > Tools", "Kitchen"])
    api.as_key(shop.secret_key)
    assert _api_skus(api, category="Garden") == [items[0]["sku"]]

    kitchen = shop.merchant.products.get(sku=items[1]["sku"])
    product_update(product=kitchen, data={"category": "Garden > Pots > Terracotta"})
    assert _api_skus(api, category="Garden") == [items[0]["sku"], items[1]["sku"]]
    assert _api_skus(api, category="Garden > Pots") == [items[1]["sku"]]


def test_dashboard_list_filters_categories_the_same_way(client, shop):
    items = _catalog(shop, ["Garden > Tools > Spades", "Gardening Books", "Garden"])
    client.login(username=shop.owner.username, password=PASSWORD)
    page = client.get(f"/m/{shop.merchant.slug}/catalog/", {"category": "Garden"})
    assert page.status_code == 200
    html = page.content.decode()
    assert items[0]["sku"] in html and items[2]["sku"] in html
    assert items[1]["sku"] not in html


def test_api_list_shows_each_products_live_copy_in_a_fixed_number_of_queries(
    api, shop, django_assert_max_num_queries
):
    product_bulk_upsert(merchant=shop.merchant, items=product_rows(30))
    product = shop.merchant.products.get(sku="SKU-0007")
    live_copy_publish(
        product=product, field="seo_title", value="Copper saucepan 7", source="edited"
    )
    api.as_key(shop.secret_key)

    # Authentication, merchant, page, live copy (and a key's last-used stamp): not one per product.
    with django_assert_max_num_queries(6):
        body = api.get("/api/v1/products", {"limit": 30}).json()

    by_sku = {p["sku"]: p for p in body["results"]}
    assert len(by_sku) == 30
    assert by_sku["SKU-0007"]["copy"] == {
        "description": {"value": "A copper saucepan, number 7.", "source": "original"},
        "seo_title": {"value": "Copper saucepan 7", "source": "edited"},
    }
    assert by_sku["SKU-0012"]["copy"] == {
        "description": {"value": "A copper saucepan, number 12.", "source": "original"}
    }
    # The single-product answer has the same shape.
    assert api.get("/api/v1/products/SKU-0007").json()["copy"] == by_sku["SKU-0007"]["copy"]


def test_categories_selector_lists_every_category_once(shop):
    _catalog(shop, ["Garden", "Garden > Tools", "Garden", "", "Kitchen"])
    assert selectors.catalog_categories(shop.merchant) == ["Garden", "Garden > Tools", "Kitchen"]
    assert selectors.category_and_below(shop.merchant, "Garden") == ["Garden", "Garden > Tools"]


def test_web_process_loads_every_view_at_start_and_freezes_them_out_of_gc():
    # In a process of its own: the freeze is process-wide.
    code = (
        "import gc, sys, merchandising.wsgi\n"
        "print(gc.get_freeze_count(), 'merchandising.catalog.api' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frozen, views_loaded = result.stdout.split()
    assert views_loaded == "True"
    assert int(frozen) > 10_000
