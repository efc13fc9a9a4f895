from django.db import migrations


def create_defaults(apps, schema_editor):
    from merchandising.storefront.services import DEFAULT_PLACEMENTS

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
