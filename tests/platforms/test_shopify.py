"""Shopify product CSV: a merchant imports the admin export, approves copy, and exports a file
that writes the copy back to the same Handles."""

from __future__ import annotations

import csv
import io

import pytest

from merchandising.catalog.models import CopyRevision, LiveCopy, Product, ProductListing
from merchandising.catalog.services import ImportFailed, live_copy_publish
from merchandising.catalog.services_platforms import (
    import_format_detect,
    product_export_platform,
    product_import_platform,
)

from .conftest import sample

pytestmark = pytest.mark.django_db

HEADER = (
    "Handle,Title,Body (HTML),Vendor,Product Category,Type,Tags,Published,Option1 Name,"
    "Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Inventory Qty,Variant Price,"
    "Image Src,Image Position,SEO Title,SEO Description,Status"
)
GOOD = "\r\n".join(
    [
        HEADER,
        'copper-kettle,Copper kettle,"<p>Hand-hammered.</p>\r\n<ul><li>1.5 l</li><li>Gas, induction</li></ul>",'
        'Kuchen,Home & Garden > Kitchen,Kettles,"copper, gift",true,Size,1.5 l,Finish,Polished,'
        "KET-15-P,4,89.00,https://cdn.shopify.com/k1.jpg,1,Copper kettle | Kuchen,A kettle.,active",
        "copper-kettle,,,,,,,,,1.5 l,,Brushed,KET-15-B,2,92.50,https://cdn.shopify.com/k2.jpg,2,,,",
        "copper-kettle,,,,,,,,,,,,,,,https://cdn.shopify.com/k3.jpg,3,,,",
        "linen-towel,Linen towel,Soft linen.,Kuchen,,Textiles,,true,Title,Default Title,,,,0,"
        "12.00,,,,,draft",
    ]
)


def _import(shop, data: str | bytes, **kwargs):
    raw = data.encode() if isinstance(data, str) else data
    return product_import_platform(
        merchant=shop.merchant, fh=io.BytesIO(raw), format="shopify", size=len(raw), **kwargs
    )


def _export(shop) -> str:
    out = io.StringIO()
    product_export_platform(merchant=shop.merchant, format="shopify", out=out)
    return out.getvalue()


def catalog_state(merchant) -> tuple:
    products = list(
        Product.objects.filter(merchant=merchant)
        .order_by("sku")
        .values_list(
            "sku",
            "title",
            "brand",
            "category",
            "price",
            "stock",
            "status",
            "tags",
            "image_url",
            "attributes",
            "updated_at",
        )
    )
    copy = sorted(
        LiveCopy.objects.filter(merchant=merchant).values_list("product__sku", "field", "value")
    )
    listings = sorted(
        ProductListing.objects.filter(merchant=merchant).values_list(
            "key", "product__sku", "variants"
        )
    )
    return products, copy, listings, CopyRevision.objects.filter(merchant=merchant).count()


def test_variants_and_image_rows_become_one_product_per_handle(shop):
    result = _import(shop, "\ufeff" + GOOD)  # a byte-order mark and CRLF line ends
    assert (result["created"], result["error_count"]) == (2, 0)
    kettle = Product.objects.get(merchant=shop.merchant, sku="copper-kettle")
    assert kettle.title == "Copper kettle"
    assert str(kettle.price) == "89.00"  # the lowest variant price
    assert kettle.stock == 6
    assert kettle.attributes == {
        "Size": "1.5 l",
        "Finish": "Polished, Brushed",
        "Product type": "Kettles",
    }
    assert kettle.tags == ["copper", "gift"]
    assert kettle.category == "Home & Garden > Kitchen"
    assert kettle.image_url == "https://cdn.shopify.com/k1.jpg"
    copy = {c.field: c.value for c in LiveCopy.objects.filter(product=kettle)}
    assert copy == {
        "description": "Hand-hammered.\n\n- 1.5 l\n- Gas, induction",
        "seo_title": "Copper kettle | Kuchen",
        "seo_description": "A kettle.",
    }
    listing = ProductListing.objects.get(product=kettle, platform="shopify")
    assert listing.key == "copper-kettle"
    assert [v["sku"] for v in listing.variants] == ["KET-15-P", "KET-15-B"]
    towel = Product.objects.get(merchant=shop.merchant, sku="linen-towel")
    assert (towel.status, towel.category, towel.attributes) == ("archived", "Textiles", {})


def test_export_writes_only_the_copy_columns_of_the_same_handles(shop):
    _import(shop, GOOD)
    kettle = Product.objects.get(merchant=shop.merchant, sku="copper-kettle")
    live_copy_publish(
        product=kettle,
        field="description",
        value="Hammered by hand in Solingen.\n\n- Holds 1.5 l\n- Works on <any> hob",
        source="generated",
    )
    rows = list(csv.reader(io.StringIO(_export(shop))))
    assert rows[0] == [
        "Handle",
        "Title",
        "Body (HTML)",
        "SEO Title",
        "SEO Description",
        "Option1 Name",
        "Option1 Value",
        "Option2 Name",
        "Option2 Value",
        "Option3 Name",
        "Option3 Value",
    ]
    # One row per variant with its options, so Shopify keeps the variants; copy on the first.
    assert rows[1] == [
        "copper-kettle",
        "Copper kettle",
        "<p>Hammered by hand in Solingen.</p><ul><li>Holds 1.5 l</li><li>Works on &lt;any&gt; hob</li></ul>",
        "Copper kettle | Kuchen",
        "A kettle.",
        "Size",
        "1.5 l",
        "Finish",
        "Polished",
        "",
        "",
    ]
    assert rows[2] == ["copper-kettle", "", "", "", "", "", "1.5 l", "", "Brushed", "", ""]
    assert rows[3][:2] == ["linen-towel", "Linen towel"]
    assert rows[3][5:7] == ["Title", "Default Title"]
    assert len(rows) == 4


def test_exported_copy_imports_back_to_the_same_products(shop, other_shop):
    _import(shop, GOOD)
    kettle = Product.objects.get(merchant=shop.merchant, sku="copper-kettle")
    live_copy_publish(product=kettle, field="seo_title", value="=Kettle", source="generated")
    exported = _export(shop)
    before = catalog_state(shop.merchant)
    result = _import(shop, exported)
    assert (result["copy_updates"], result["copy_changes"], result["error_count"]) == (2, 0, 0)
    assert catalog_state(shop.merchant) == before
    # Another merchant never imported these Handles: each row says so, nothing is written.
    with pytest.raises(ImportFailed) as failure:
        _import(other_shop, exported)
    assert failure.value.result["errors"][0]["column"] == "Handle"
    assert "copper-kettle" in failure.value.result["errors"][0]["message"]


def test_bad_rows_name_line_and_column_and_nothing_is_written(shop):
    bad = "\n".join(
        [
            HEADER,
            "kettle,Kettle,<p>Fine</p>,K,,,,true,Size,S,,,K-S,1,1.299,00,,,,,active".replace(
                "1.299,00", '"1.299,00"'
            ),
            "orphan,,,,,,,,,M,,,O-M,1,10.00,,,,,",
            "towel,Towel,<p>ok</p>,K,,,,true,Size,S,,,T-S,x,10.00,,,,,active",
        ]
    )
    with pytest.raises(ImportFailed) as failure:
        _import(shop, bad)
    errors = failure.value.result["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [
        (2, "Variant Price"),
        (3, "Title"),
        (4, "Variant Inventory Qty"),
    ]
    assert "1.299,00" in errors[0]["message"]
    assert "no product row" in errors[1]["message"]
    assert not Product.objects.filter(merchant=shop.merchant).exists()


def test_an_unknown_column_is_named(shop):
    with pytest.raises(ImportFailed) as failure:
        _import(shop, HEADER + ",Colour\n")
    assert failure.value.result["errors"] == [
        {
            "line": 1,
            "column": "Colour",
            "message": failure.value.result["errors"][0]["message"],
        }
    ]
    assert "Unknown column 'Colour'" in failure.value.result["errors"][0]["message"]


def test_scripts_in_the_body_never_reach_live_copy(shop):
    hostile = (
        HEADER + "\nx,X,\"<p onmouseover='steal()'>Nice<script>document.cookie</script></p>"
        '<img src=x onerror=alert(1)>",K,,,,true,Title,Default Title,,,,1,5.00,,,,,active\n'
    )
    _import(shop, hostile)
    assert LiveCopy.objects.get(product__sku="x", field="description").value == "Nice"


def test_format_is_detected_from_the_header():
    assert import_format_detect(("\ufeff" + GOOD).encode()) == "shopify"
    assert import_format_detect(b"sku,title,price\nA,B,1\n") == "merchlab"
    assert import_format_detect(b"sku,title,price,handle,body (html)\nA,B,1,a,b\n") == "merchlab"


@pytest.mark.parametrize(
    ("name", "products"),
    [
        ("lifemademagic__products_export_1.csv", 338),
        ("mercyshairextensions__products_export_1.csv", 84),
        ("sacredspiralz__products_export.csv", 53),
    ],
)
def test_real_exports_import_cleanly_and_round_trip(shop, name, products):
    path = sample(f"shopify/{name}")
    with path.open("rb") as fh:
        assert import_format_detect(fh.read(65536)) == "shopify"
    with path.open("rb") as fh:
        result = product_import_platform(
            merchant=shop.merchant, fh=fh, format="shopify", size=path.stat().st_size
        )
    assert (result["error_count"], result["created"]) == (0, products)
    assert ProductListing.objects.filter(merchant=shop.merchant).count() == products
    before = catalog_state(shop.merchant)
    result = _import(shop, _export(shop))
    assert (result["copy_updates"], result["copy_changes"]) == (products, 0)
    assert catalog_state(shop.merchant) == before
    # Importing the original again changes nothing either.
    with path.open("rb") as fh:
        result = product_import_platform(merchant=shop.merchant, fh=fh, format="shopify")
    assert (result["unchanged"], result["copy_changes"]) == (products, 0)
    assert catalog_state(shop.merchant) == before


@pytest.mark.parametrize(
    ("content", "column"),
    [
        (b"", "(file)"),
        ((HEADER + "\nx,Caf\xe9,,,,,,,,,,,,,1.00,,,,,\n").encode("latin-1"), "(file)"),
        ((HEADER + "\nx,A\x00B,,,,,,,,,,,,,1.00,,,,,\n").encode(), "Title"),
        (b"Handle,Colour\nx,red\n", "Colour"),
        (b"Handle,Variant Price\nx,1.00\n", "Title"),
    ],
)
def test_unreadable_files_fail_with_a_report_not_a_crash(shop, content, column):
    with pytest.raises(ImportFailed) as failure:
        _import(shop, content)
    [error] = failure.value.result["errors"]
    assert error["column"] == column
    assert not Product.objects.filter(merchant=shop.merchant).exists()


def test_partial_import_skips_whole_products_never_part_of_one(shop):
    bad = GOOD.replace("92.50", "abc")  # the kettle's second variant
    result = _import(shop, bad, partial=True)
    assert (result["created"], result["bad_rows"]) == (1, 1)
    assert list(Product.objects.filter(merchant=shop.merchant).values_list("sku", flat=True)) == [
        "linen-towel"
    ]
