"""Reads for other platforms' files and feeds, scoped by merchant and streamed in chunks so a
large catalog never sits in memory at once."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count
from django.utils.crypto import constant_time_compare, salted_hmac

from merchandising.accounts.models import Merchant

from .models import Product, ProductListing
from .platforms import product_link
from .selectors import live_copy_values

CHUNK = 2_000


def listings_for_export(merchant, platform: str, *, queryset=None) -> Iterator[dict]:
    """The products imported from `platform`, each as {"key", "title", "extra", "variants",
    "copy"}, in key order.
    `queryset` (a filtered product list) narrows them."""
    listings = ProductListing.objects.filter(merchant=merchant, platform=platform)
    if queryset is not None:
        listings = listings.filter(product__in=queryset.values("pk"))
    last = ""
    while True:
        chunk = list(
            listings.filter(key__gt=last)
            .order_by("key")
            .values("key", "extra", "variants", "product_id", "product__title")[:CHUNK]
        )
        if not chunk:
            return
        copy = live_copy_values(merchant, [row["product_id"] for row in chunk])
        for row in chunk:
            yield {
                "key": row["key"],
                "title": row["product__title"],
                "extra": row["extra"],
                "variants": row["variants"],
                "copy": copy.get(row["product_id"], {}),
            }
        last = chunk[-1]["key"]


def products_with_copy(merchant, *, status: str = "active") -> Iterator[dict]:
    """Every product of the merchant with `status` (all when empty), with its live copy and its
    Shopify Handle or WooCommerce key, in SKU order, read in chunks."""
    products = Product.objects.filter(merchant=merchant)
    if status:
        products = products.filter(status=status)
    last = ""
    while True:
        chunk = list(
            products.filter(sku__gt=last)
            .order_by("sku")
            .values(
                "id",
                "sku",
                "title",
                "brand",
                "category",
                "price",
                "currency",
                "stock",
                "status",
                "image_url",
                "attributes",
            )[:CHUNK]
        )
        if not chunk:
            return
        ids = [p["id"] for p in chunk]
        copy = live_copy_values(merchant, ids)
        listings: dict[int, dict] = {}
        for product_id, platform, key in ProductListing.objects.filter(
            merchant=merchant, product_id__in=ids
        ).values_list("product_id", "platform", "key"):
            listings.setdefault(product_id, {})[platform] = key
        for product in chunk:
            product["copy"] = copy.get(product["id"], {})
            product["listings"] = listings.get(product["id"], {})
            yield product
        last = chunk[-1]["sku"]


def feed_token(merchant) -> str:
    """The secret in the merchant's feed address. Derived from SECRET_KEY with an HMAC, so it is
    stable, unguessable and changes (for every merchant) when the secret key is rotated."""
    return salted_hmac("merchlab.feed.google-merchant", str(merchant.pk)).hexdigest()[:32]


def feed_token_valid(merchant, token: str) -> bool:
    return constant_time_compare(feed_token(merchant), token or "")


def merchant_by_feed_token(slug: str, token: str):
    """The merchant whose feed address this is, or None (a wrong token looks like no feed)."""
    merchant = Merchant.objects.filter(slug=slug).first()
    if merchant is None or not feed_token_valid(merchant, token):
        return None
    return merchant


def products_for_channels(merchant) -> Iterator[dict]:
    """Active products with live copy and the address of their page in the shop, for the
    Merchant Center feed and the Google Ads export."""
    origins = merchant.storefront_origins or []
    origin = origins[0] if origins else ""
    template = settings.MERCHLAB_FEED_LINK_TEMPLATE
    for product in products_with_copy(merchant):
        product["link"] = product_link(product, origin=origin, template=template)
        yield product


def listing_counts(merchant) -> dict[str, int]:
    """platform -> how many of the merchant's products were imported from it."""
    return dict(
        ProductListing.objects.filter(merchant=merchant)
        .values("platform")
        .annotate(n=Count("id"))
        .values_list("platform", "n")
    )
