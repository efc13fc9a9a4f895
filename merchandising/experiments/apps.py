from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "merchandising.experiments"
    label = "experiments"
    verbose_name = "Experiments"

    def ready(self) -> None:
        # The storefront product endpoint calls its hooks; ours serves copy variants and records
        # exposures. Registered here so the storefront does not import the experiments app.
        from merchandising.storefront import api as storefront_api

        from .services import product_copy_hook

        if product_copy_hook not in storefront_api.PRODUCT_COPY_HOOKS:
            storefront_api.PRODUCT_COPY_HOOKS.append(product_copy_hook)
