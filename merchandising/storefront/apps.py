from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    name = "merchandising.storefront"
    label = "storefront"
    verbose_name = "Storefront"

    def ready(self) -> None:
        from . import (
            cors,  # noqa: F401  (connects the CORS origin check)
            signals,  # noqa: F401  (default placements for new merchants)
        )
