"""The demo catalog generator: deterministic, big enough, valid for import."""

import csv
import io
from decimal import Decimal

from merchandising.demo.catalog_data import (
    ATTRIBUTE_NAMES,
    CSV_BASE_COLUMNS,
    DEFAULT_IMAGE_BASE,
    SEO_DESCRIPTION_MAX,
    SEO_TITLE_MAX,
    catalog_csv_text,
    generate_catalog,
    iter_catalog,
    make_product,
    placeholder_images,
    top_level,
    write_catalog_csv,
)

KEYS = {
    "sku",
    "title",
    "brand",
    "category",
    "price",
    "currency",
    "stock",
    "status",
    "tags",
    "image_url",
    "attributes",
    "description",
    "seo_title",
    "seo_description",
}


def test_same_seed_same_catalog_other_seed_other_catalog():
    assert generate_catalog(50, seed=3) == generate_catalog(50, seed=3)
    assert generate_catalog(50, seed=3) != generate_catalog(50, seed=4)


def test_small_catalog_is_a_prefix_of_a_big_one():
    assert generate_catalog(40) == list(iter_catalog(400))[:40]


def test_demo_catalog_is_big_varied_and_well_formed():
    products = generate_catalog()
    assert len(products) >= 300
    assert all(set(p) == KEYS for p in products)
    assert len({p["sku"] for p in products}) == len(products)
    assert len({p["category"] for p in products}) >= 8
    assert len({top_level(p["category"]) for p in products}) >= 8
    assert all(p["category"].count(" > ") == 2 for p in products)
    assert len({p["brand"] for p in products}) >= 20
    for p in products:
        assert isinstance(p["price"], Decimal) and Decimal("0.5") < p["price"] < Decimal("1000")
        assert p["price"] == p["price"].quantize(Decimal("0.01"))
        assert p["currency"] == "EUR"
        assert p["stock"] >= 0
        assert p["status"] in {"active", "archived"}
        assert p["tags"] and all(isinstance(t, str) and t for t in p["tags"])
        assert p["attributes"] and all(isinstance(v, str) for v in p["attributes"].values())
        assert len(p["seo_title"]) <= SEO_TITLE_MAX
        assert len(p["seo_description"]) <= SEO_DESCRIPTION_MAX
        assert len(p["title"]) <= 200
        assert p["image_url"].startswith(DEFAULT_IMAGE_BASE + "/")
    materials = {p["attributes"].get("material") for p in products} - {None}
    colors = {p["attributes"].get("color") for p in products} - {None}
    assert len(materials) >= 20 and len(colors) >= 10
    assert any("size" in p["attributes"] for p in products)
    assert any("capacity" in p["attributes"] for p in products)


def test_some_products_are_thin_and_most_have_full_copy():
    products = generate_catalog()
    thin = [p for p in products if not p["seo_title"]]
    full = [p for p in products if p["seo_title"]]
    assert 0.1 <= len(thin) / len(products) <= 0.35
    assert all(len(p["description"].split(". ")) >= 2 for p in full)
    assert any(p["description"] == "" for p in thin)


def test_prices_follow_brand_tier_within_a_category():
    products = [make_product(i) for i in range(0, 2000, 20)]  # every 20th: one leaf category
    assert len({p["category"] for p in products}) == 1
    premium = [p["price"] for p in products if "premium" in p["tags"]]
    budget = [p["price"] for p in products if "value" in p["tags"]]
    assert premium and budget
    assert sorted(budget)[len(budget) // 2] < sorted(premium)[len(premium) // 2]


def test_other_currencies_convert_prices():
    eur = make_product(5, currency="EUR")
    usd = make_product(5, currency="USD")
    assert usd["currency"] == "USD" and usd["price"] > eur["price"]


def test_csv_has_import_columns_and_round_trips():
    buf = io.StringIO()
    assert write_catalog_csv(buf, n=120) == 120
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert len(rows) == 120
    assert list(rows[0].keys()) == [*CSV_BASE_COLUMNS, *ATTRIBUTE_NAMES]
    products = generate_catalog(120)
    for row, product in zip(rows, products, strict=True):
        assert row["sku"] == product["sku"]
        assert row["tags"].split("|") == product["tags"]
        assert Decimal(row["price"]) == product["price"]
        for name, value in product["attributes"].items():
            assert row[name] == value


def test_large_csv_streams_to_a_file(tmp_path):
    path = tmp_path / "catalog.csv"
    assert write_catalog_csv(path, n=5000, images="none") == 5000
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 5000 and len({r["sku"] for r in rows}) == 5000
    assert all(r["image_url"] == "" for r in rows)


def test_every_image_url_names_a_placeholder_file_on_the_app():
    images = placeholder_images()
    assert all(svg.startswith("<svg") for svg in images.values())
    for product in generate_catalog(1000):
        assert product["image_url"].removeprefix(DEFAULT_IMAGE_BASE + "/") in images
    data = make_product(3, images="data")["image_url"]
    assert data.startswith("data:image/svg+xml,")


def test_csv_passes_the_catalog_importers_validation():
    from merchandising.catalog import csv_format

    report = csv_format.validate(catalog_csv_text(400))
    assert report.ok, report.errors[:3]
    assert len(report.rows) == 400
    by_sku = {p["sku"]: p for p in generate_catalog(400)}
    for row in report.rows[:50]:
        product = by_sku[row.sku]
        assert row.attributes == product["attributes"]
        assert row.price == product["price"]
        assert row.copy.get("description", "") == product["description"]
