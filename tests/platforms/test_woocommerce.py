"""WooCommerce product CSV: variable products with their variations, both ways."""

from __future__ import annotations

import csv
import io

import pytest

from merchandising.catalog.models import LiveCopy, Product, ProductListing
from merchandising.catalog.services import ImportFailed, live_copy_publish
from merchandising.catalog.services_platforms import (
    import_format_detect,
    product_export_platform,
    product_import_platform,
)

from .conftest import sample
from .test_shopify import catalog_state

pytestmark = pytest.mark.django_db

HEADER = (
    "ID,Type,SKU,Name,Published,Short description,Description,In stock?,Stock,Sale price,"
    "Regular price,Categories,Tags,Images,Parent,Attribute 1 name,Attribute 1 value(s),"
    "Attribute 1 visible,Attribute 1 global"
)
GOOD = "\n".join(
    [
        HEADER,
        '44,variable,tee,V-Neck T-Shirt,1,Soft tee.,"<p>Cotton.</p>\\n<ul><li>Slim</li></ul>",1,,,,'
        'Clothing > Tshirts,"summer, cotton",https://x.test/a.jpg,,Color,"Blue, Red",1,1',
        "76,variation,tee-red,V-Neck T-Shirt - Red,1,,,1,3,,20,,,,tee,Color,Red,,1",
        "77,variation,tee-blue,V-Neck T-Shirt - Blue,1,,,1,2,15,18,,,,id:44,Color,Blue,,1",
        "46,simple,beanie,Beanie,1,Warm.,Knitted.,1,,,18,Clothing,,,,,,,",
    ]
)


def _import(shop, text: str, **kwargs):
    return product_import_platform(
        merchant=shop.merchant, fh=io.BytesIO(text.encode()), format="woocommerce", **kwargs
    )


def test_variable_product_with_variations_is_one_product(shop):
    assert import_format_detect(GOOD.encode()) == "woocommerce"
    result = _import(shop, GOOD)
    assert (result["created"], result["error_count"]) == (2, 0)
    tee = Product.objects.get(merchant=shop.merchant, sku="tee")
    assert (str(tee.price), tee.stock, tee.category) == ("18.00", 5, "Clothing > Tshirts")
    assert tee.attributes == {"Color": "Blue, Red"}
    assert tee.tags == ["summer", "cotton"]
    listing = ProductListing.objects.get(product=tee, platform="woocommerce")
    assert listing.key == "id:44"
    assert [(v["sku"], v["options"], v.get("sale_price")) for v in listing.variants] == [
        ("tee-red", {"Color": "Red"}, None),
        ("tee-blue", {"Color": "Blue"}, "15.00"),
    ]
    copy = {c.field: c.value for c in LiveCopy.objects.filter(product=tee)}
    assert copy == {"description": "Cotton.\n\n- Slim", "seo_description": "Soft tee."}
    beanie = Product.objects.get(merchant=shop.merchant, sku="beanie")
    assert beanie.stock == 1  # "In stock?" without a count: available


def test_export_and_reimport_of_copy(shop):
    _import(shop, GOOD)
    tee = Product.objects.get(merchant=shop.merchant, sku="tee")
    live_copy_publish(product=tee, field="description", value="Breathable.", source="generated")
    out = io.StringIO()
    product_export_platform(merchant=shop.merchant, format="woocommerce", out=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["ID", "SKU", "Short description", "Description"]
    assert rows[1] == ["44", "tee", "<p>Soft tee.</p>", "<p>Breathable.</p>"]
    before = catalog_state(shop.merchant)
    assert import_format_detect(out.getvalue().encode()) == "woocommerce"
    result = _import(shop, out.getvalue())
    assert (result["copy_updates"], result["copy_changes"]) == (2, 0)
    assert catalog_state(shop.merchant) == before


def test_orphan_variation_and_bad_price_are_named(shop):
    bad = GOOD.replace(",tee,Color,Red", ",nope,Color,Red").replace(
        ",18,Clothing,", ',"1.299,00",Clothing,'
    )
    with pytest.raises(ImportFailed) as failure:
        _import(shop, bad)
    errors = failure.value.result["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(3, "Parent"), (5, "Regular price")]
    assert not Product.objects.filter(merchant=shop.merchant).exists()


@pytest.mark.parametrize(
    ("name", "products", "skipped"),
    [
        ("woocommerce__sample_products.csv", 18, 0),
        ("essentialscart__wc_product_export.csv", 781, 1),
    ],
)
def test_shared_samples_import_cleanly_and_round_trip(shop, name, products, skipped):
    path = sample(f"woocommerce/{name}")
    with path.open("rb") as fh:
        result = product_import_platform(merchant=shop.merchant, fh=fh, format="woocommerce")
    assert (result["error_count"], result["created"], len(result["skipped"])) == (
        0,
        products,
        skipped,
    )
    before = catalog_state(shop.merchant)
    out = io.StringIO()
    product_export_platform(merchant=shop.merchant, format="woocommerce", out=out)
    result = _import(shop, out.getvalue())
    assert (result["copy_updates"], result["copy_changes"]) == (products, 0)
    assert catalog_state(shop.merchant) == before


def test_partial_import_leaves_out_a_product_with_a_bad_variation(shop):
    bad = GOOD.replace(",15,18,,,,id:44,", ",15,abc,,,,id:44,")
    result = _import(shop, bad, partial=True)
    assert [(e["line"], e["column"]) for e in result["errors"]] == [(4, "Regular price")]
    assert list(Product.objects.filter(merchant=shop.merchant).values_list("sku", flat=True)) == [
        "beanie"
    ]
