"""Trigram indexes for the product search (PostgreSQL only).

The dashboard and API search with case-insensitive "contains" on title and brand and prefix or
exact matches on SKU, which Django turns into `UPPER(col) LIKE UPPER('%text%')`. Without these
indexes every search reads the merchant's whole catalog; pg_trgm GIN indexes on the same
expressions answer them from the index (PostgreSQL documentation, "pg_trgm", F.35.4 Index Support).
"""

from django.db import migrations

COLUMNS = ("title", "brand", "sku")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS catalog_product_{column}_trgm "
            f'ON catalog_product USING gin (UPPER("{column}") gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS catalog_product_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
