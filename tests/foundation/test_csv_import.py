"""Catalog CSV import and export, as a merchant meets them."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from merchandising.catalog.models import CopyRevision, LiveCopy, Product
from merchandising.catalog.services import ImportFailed, product_export_csv, product_import_csv

pytestmark = pytest.mark.django_db

GOOD = (
    "sku,title,brand,category,price,currency,stock,tags,description,color,Material\n"
    "PAN-1,Copper saucepan 2 l,Kuchen,Kitchen > Cookware,49.90,EUR,12,copper|gift,Hand-hammered copper.,red,copper\n"
    'PAN-2,"Steel pot, 5 l",Kuchen,Kitchen>Cookware,29,EUR,0,,,silver,stainless steel\n'
)


def test_good_file_creates_products_with_attributes_and_copy(shop):
    result = product_import_csv(merchant=shop.merchant, data=GOOD.encode())
    assert (result["created"], result["updated"]) == (2, 0)
    pan = Product.objects.get(merchant=shop.merchant, sku="PAN-1")
    assert pan.attributes == {"color": "red", "Material": "copper"}
    assert pan.tags == ["copper", "gift"]
    assert str(pan.price) == "49.90"
    pot = Product.objects.get(merchant=shop.merchant, sku="PAN-2")
    assert pot.category == "Kitchen > Cookware"  # spacing normalised
    live = LiveCopy.objects.get(product=pan, field="description")
    assert (live.value, live.source) == ("Hand-hammered copper.", "original")


def test_reimport_updates_by_sku_and_keeps_history(shop):
    product_import_csv(merchant=shop.merchant, data=GOOD.encode())
    changed = GOOD.replace("49.90", "44.00").replace("Hand-hammered copper.", "Now tin-lined.")
    result = product_import_csv(merchant=shop.merchant, data=changed.encode())
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 1)
    pan = Product.objects.get(merchant=shop.merchant, sku="PAN-1")
    assert str(pan.price) == "44.00"
    history = list(
        CopyRevision.objects.filter(product=pan, field="description").order_by("created_at", "id")
    )
    assert [h.value for h in history] == ["Hand-hammered copper.", "Now tin-lined."]
    assert history[1].previous_value == "Hand-hammered copper."


def test_bad_rows_are_named_by_line_and_column_and_nothing_is_written(shop):
    data = (
        "sku,title,price,stock\n"
        "OK-1,Fine product,10,1\n"
        "BAD-1,,10,1\n"  # line 3: title missing
        '"BAD 2","Multi\nline title",abc,-4\n'  # starts on line 4: sku with space, price, stock
        "OK-2,Another,12.345,1\n"  # line 6: three decimals
    )
    with pytest.raises(ImportFailed) as failure:
        product_import_csv(merchant=shop.merchant, data=data.encode())
    errors = {(e["line"], e["column"]) for e in failure.value.result["errors"]}
    assert {(3, "title"), (4, "sku"), (4, "price"), (4, "stock"), (6, "price")} <= errors
    assert "nothing was imported" in str(failure.value)
    assert not Product.objects.filter(merchant=shop.merchant).exists()


def test_partial_import_keeps_the_valid_rows_and_reports_the_rest(shop):
    data = "sku,title,price\nOK-1,Fine,10\nBAD-1,,10\nOK-2,Also fine,11\n"
    result = product_import_csv(merchant=shop.merchant, data=data.encode(), partial=True)
    assert result["created"] == 2
    assert result["errors"] == [{"line": 3, "column": "title", "message": "is required"}]
    assert set(Product.objects.filter(merchant=shop.merchant).values_list("sku", flat=True)) == {
        "OK-1",
        "OK-2",
    }


def test_duplicate_skus_in_one_file_name_both_lines(shop):
    data = "sku,title,price\nA-1,One,1\nA-2,Two,2\nA-1,Again,3\n"
    with pytest.raises(ImportFailed) as failure:
        product_import_csv(merchant=shop.merchant, data=data.encode())
    [error] = failure.value.result["errors"]
    assert error["line"] == 4 and error["column"] == "sku" and "line 2" in error["message"]


def test_huge_field_is_refused_with_its_line(shop):
    data = "sku,title,price,description\nA-1,One,1,ok\nA-2,Two,2," + "x" * 200_000 + "\n"
    with pytest.raises(ImportFailed) as failure:
        product_import_csv(merchant=shop.merchant, data=data.encode())
    [error] = failure.value.result["errors"]
    assert error["line"] == 3
    assert "longer than" in error["message"]


def test_long_but_readable_field_is_refused_by_column_limit(shop):
    data = "sku,title,price\nA-1," + "t" * 301 + ",1\n"
    with pytest.raises(ImportFailed) as failure:
        product_import_csv(merchant=shop.merchant, data=data.encode())
    assert failure.value.result["errors"][0]["column"] == "title"
    assert "limit is 300" in failure.value.result["errors"][0]["message"]


def test_wrong_encoding_says_so_and_the_right_one_works(shop):
    data = "sku,title,price\nA-1,Crème brûlée dish,12\n".encode("cp1252")
    with pytest.raises(ImportFailed) as failure:
        product_import_csv(merchant=shop.merchant, data=data)
    message = failure.value.result["errors"][0]["message"]
    assert "not valid utf-8" in message.lower() and "line 2" in message
    product_import_csv(merchant=shop.merchant, data=data, encoding="cp1252")
    assert Product.objects.get(merchant=shop.merchant, sku="A-1").title == "Crème brûlée dish"


def test_utf8_bom_and_missing_required_column(shop):
    product_import_csv(merchant=shop.merchant, data="\ufeffsku,title,price\nA-1,One,1\n".encode())
    assert Product.objects.filter(merchant=shop.merchant, sku="A-1").exists()
    with pytest.raises(ImportFailed) as failure:
        product_import_csv(merchant=shop.merchant, data=b"sku,name\nA-1,One\n")
    assert "title, price" in failure.value.result["errors"][0]["message"]


def test_formula_text_is_stored_faithfully_and_neutralised_on_export(shop):
    data = 'sku,title,price,note\nA-1,"=cmd|\' /C calc\'!A0",1,"@SUM(1+1)"\n'
    product_import_csv(merchant=shop.merchant, data=data.encode())
    product = Product.objects.get(merchant=shop.merchant, sku="A-1")
    assert product.title == "=cmd|' /C calc'!A0"  # stored as typed
    out = io.StringIO()
    product_export_csv(merchant=shop.merchant, out=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0]["title"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["note"] == "'@SUM(1+1)"


def test_export_reimports_to_the_same_catalog(shop, other_shop):
    product_import_csv(merchant=shop.merchant, data=GOOD.encode())
    out = io.StringIO()
    product_export_csv(merchant=shop.merchant, out=out)
    product_import_csv(merchant=other_shop.merchant, data=out.getvalue().encode())
    fields = ("sku", "title", "brand", "category", "price", "stock", "tags", "attributes")
    mine = list(Product.objects.filter(merchant=shop.merchant).order_by("sku").values(*fields))
    theirs = list(
        Product.objects.filter(merchant=other_shop.merchant).order_by("sku").values(*fields)
    )
    assert mine == theirs


def test_command_imports_and_reports_bad_lines(shop, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    call_command("import_catalog", str(good), "--merchant", shop.merchant.slug, verbosity=0)
    assert Product.objects.filter(merchant=shop.merchant).count() == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,title,price\nX-1,,1\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_catalog", str(bad), "--merchant", shop.merchant.slug, verbosity=0)
    assert "line 2, column title: is required" in capsys.readouterr().err
    with pytest.raises(CommandError, match="No merchant"):
        call_command("import_catalog", str(good), "--merchant", "nope", verbosity=0)
