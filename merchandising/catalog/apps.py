from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "merchandising.catalog"
    label = "catalog"
    verbose_name = "Catalog"
