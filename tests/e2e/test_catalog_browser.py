"""In a real browser: sign in, import a CSV and watch the job finish, find a product, edit it."""

from __future__ import annotations

import pytest

from merchandising.catalog.models import Product
from tests.conftest import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = (
    "sku,title,brand,category,price,stock,color\n"
    + "".join(
        f"MUG-{i:03d},Stoneware mug {i},Potter & Co,Kitchen > Tableware,{12 + i % 5}.00,{i % 7},blue\n"
        for i in range(60)
    )
    + "KET-001,Copper kettle,Kuchen,Kitchen > Cookware,89.00,4,copper\n"
)


def test_sign_in_import_search_and_edit(page, live_server, shop, tmp_path):
    sign_in(page, live_server, shop.editor.username)
    assert page.get_by_role("heading", name=shop.merchant.name).is_visible()

    page.get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="Import CSV").click()
    csv_file = tmp_path / "catalog.csv"
    csv_file.write_text(CSV)
    page.set_input_files("input[type=file]", str(csv_file))
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_selector("#job[data-status=succeeded]")
    assert page.locator("#job-progress").get_attribute("value") == "100"
    assert "61 new" in page.locator("#job-message").inner_text()

    page.get_by_role("link", name="See the catalog").click()
    page.get_by_label("Search products").fill("kettle")
    page.wait_for_function("document.querySelectorAll('#product-results tbody tr').length === 1")
    page.get_by_role("link", name="KET-001").click()

    page.get_by_label("Title", exact=True).fill("Copper kettle, 1.5 l")
    page.get_by_label("Price", exact=True).fill("79.00")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Saved KET-001")
    product = Product.objects.get(merchant=shop.merchant, sku="KET-001")
    assert (product.title, str(product.price)) == ("Copper kettle, 1.5 l", "79.00")


def test_bad_csv_shows_each_problem_in_the_page(page, live_server, shop, tmp_path):
    sign_in(page, live_server, shop.owner.username)
    page.goto(f"{live_server.url}/m/{shop.merchant.slug}/catalog/import/")
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,title,price\nA-1,,3\nA-2,Fine,abc\n")
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_selector("#job[data-status=failed]")
    rows = page.locator("#job-errors tbody tr").all_inner_texts()
    assert any("2" in r and "title" in r for r in rows) and any(
        "3" in r and "price" in r for r in rows
    )
    assert not Product.objects.filter(merchant=shop.merchant).exists()
