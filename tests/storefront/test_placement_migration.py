"""The migration that gives existing merchants the default placements holds its own data, so it
does the same thing whatever the storefront's current defaults become."""

import ast
import importlib
import inspect

from django.apps import apps

from merchandising.storefront.models import Placement

migration = importlib.import_module("merchandising.storefront.migrations.0002_default_placements")


def test_migration_imports_no_application_code():
    tree = ast.parse(inspect.getsource(migration))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imported and all(name.startswith("django") for name in imported), imported


def test_migration_fills_in_missing_default_placements_without_duplicates(shop):
    Placement.objects.filter(merchant=shop.merchant, key__in=["home", "cart_complete"]).delete()
    similar = Placement.objects.get(merchant=shop.merchant, key="product_similar")
    similar.limit = 3
    similar.save()

    migration.create_defaults(apps, None)
    migration.create_defaults(apps, None)

    placements = {p.key: p for p in Placement.objects.filter(merchant=shop.merchant)}
    assert sorted(k for k in placements if k in {"home", "product_similar", "cart_complete"}) == [
        "cart_complete",
        "home",
        "product_similar",
    ]
    assert Placement.objects.filter(merchant=shop.merchant, key="home").count() == 1
    home = placements["home"]
    assert home.strategy == Placement.Strategy.LIGHTFM
    assert home.diversity == {"max_per_category": 2, "category_level": 1}
    assert placements["cart_complete"].filters["exclude_anchor_category"] is True
    # A placement the merchant already had keeps the merchant's settings.
    assert placements["product_similar"].limit == 3


new_strategies = importlib.import_module(
    "merchandising.storefront.migrations.0004_placement_new_strategies"
)


def test_new_strategies_move_only_placements_still_as_the_defaults_made_them(shop):
    Placement.objects.filter(merchant=shop.merchant).update(strategy="lightfm")
    Placement.objects.filter(merchant=shop.merchant, key="home").update(name="Our picks")

    new_strategies.defaults_use_new_strategies(apps, None)

    strategies = dict(
        Placement.objects.filter(merchant=shop.merchant).values_list("key", "strategy")
    )
    assert strategies["cart_complete"] == "bought_together"
    assert strategies["home"] == "lightfm"  # renamed by the merchant: their choice stays
    assert strategies["product_similar"] == "lightfm"
    new_strategies.defaults_back_to_lightfm(apps, None)
    assert not Placement.objects.filter(merchant=shop.merchant).exclude(strategy="lightfm")
