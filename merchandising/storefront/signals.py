"""Every new merchant starts with the default placements (home, product_similar, cart_complete)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from merchandising.accounts.models import Merchant


@receiver(post_save, sender=Merchant, dispatch_uid="storefront-default-placements")
def merchant_default_placements(sender, instance, created, raw=False, **kwargs):
    if not created or raw:
        return
    from .services import placements_create_defaults

    placements_create_defaults(merchant=instance)  # same transaction as the merchant
