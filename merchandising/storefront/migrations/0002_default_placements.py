from django.db import migrations

# The default placements as they were when this migration was written. Frozen here on purpose:
# a migration must do the same thing forever, whatever storefront.services.DEFAULT_PLACEMENTS
# later becomes (new merchants get the current defaults from that service).
DEFAULT_PLACEMENTS = (
    {
        "key": "home",
        "name": "Home: for you",
        "strategy": "lightfm",
        "fallback_strategy": "popularity",
        "filters": {"in_stock": True, "exclude_purchased": True},
        "diversity": {"max_per_category": 2, "category_level": 1},
        "limit": 8,
    },
    {
        "key": "product_similar",
        "name": "Product page: similar products",
        "strategy": "similar",
        "fallback_strategy": "popularity",
        "filters": {"in_stock": True, "exclude_purchased": False},
        "diversity": {},
        "limit": 6,
    },
    {
        "key": "cart_complete",
        "name": "Cart: complete the order",
        "strategy": "lightfm",
        "fallback_strategy": "popularity",
        "filters": {"in_stock": True, "exclude_purchased": True, "exclude_anchor_category": True},
        "diversity": {"max_per_category": 1, "category_level": 1},
        "limit": 4,
    },
)


def create_defaults(apps, schema_editor):
    Merchant = apps.get_model("accounts", "Merchant")
    Placement = apps.get_model("storefront", "Placement")
    for merchant in Merchant.objects.all():
        existing = set(Placement.objects.filter(merchant=merchant).values_list("key", flat=True))
        for spec in DEFAULT_PLACEMENTS:
            if spec["key"] not in existing:
                Placement.objects.create(merchant=merchant, **spec)


class Migration(migrations.Migration):
    dependencies = [("storefront", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
