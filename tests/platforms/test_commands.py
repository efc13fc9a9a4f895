"""Management commands for platform files, the feed and the Ads export."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from merchandising.catalog.models import Product

from .test_api import _shop_with_copy
from .test_shopify import GOOD

pytestmark = pytest.mark.django_db


def test_import_detects_shopify_and_export_writes_it_back(shop, tmp_path):
    source = tmp_path / "products_export_1.csv"
    source.write_text(GOOD, encoding="utf-8")
    call_command("import_catalog", str(source), merchant="acme", verbosity=0)
    assert Product.objects.filter(merchant=shop.merchant).count() == 2
    out = tmp_path / "back.csv"
    call_command("export_catalog", merchant="acme", out=out, format="shopify")
    assert (
        out.read_text()
        .splitlines()[0]
        .startswith("Handle,Title,Body (HTML),SEO Title,SEO Description,Option1 Name")
    )


def test_bad_shopify_file_fails_naming_the_column(shop, tmp_path, capsys):
    source = tmp_path / "bad.csv"
    source.write_text(GOOD.replace("92.50", "abc"), encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_catalog", str(source), merchant="acme", verbosity=0)
    assert "column Variant Price" in capsys.readouterr().err


def test_feed_and_ads_files(shop, tmp_path):
    _shop_with_copy(shop)
    feed, ads = tmp_path / "feed.xml", tmp_path / "ads.csv"
    call_command("export_channels", merchant="acme", feed=feed, google_ads=ads)
    assert len(ET.parse(feed).getroot().findall("./channel/item")) == 1
    assert ads.read_text().count("Responsive search ad") == 1
