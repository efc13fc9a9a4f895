"""Products and their live copy (what shoppers see), with the history of every live field."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from .csv_format import SKU_PATTERN, SKU_RULE_FORMAT

COPY_FIELDS = ("description", "seo_title", "seo_description", "ad_headlines", "ad_descriptions")
LIST_COPY_FIELDS = ("ad_headlines", "ad_descriptions")

# The rule of csv_format.sku_problem, for full_clean (the API and the CSV check it first).
sku_validators = [
    RegexValidator(SKU_PATTERN, SKU_RULE_FORMAT),
    RegexValidator(r"^\.{1,2}$", SKU_RULE_FORMAT, inverse_match=True),
]
currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as EUR.")


class Product(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    merchant = models.ForeignKey(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="products"
    )
    sku = models.CharField(max_length=64, validators=sku_validators)
    title = models.CharField(max_length=300)
    brand = models.CharField(max_length=120, blank=True)
    category = models.CharField(
        max_length=300, blank=True, help_text='Path such as "Kitchen > Cookware".'
    )
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="product_unique_sku")
        ]
        # Lists are in SKU order: each filter's index ends with sku so that a filtered page is
        # a range of the index, not a walk of the whole catalog in SKU order.
        indexes = [
            models.Index(fields=["merchant", "status", "sku"]),
            models.Index(fields=["merchant", "category", "sku"], name="product_category_sku"),
            models.Index(fields=["merchant", "brand", "sku"], name="product_brand_sku"),
            models.Index(fields=["merchant", "-updated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"

    @property
    def category_parts(self) -> list[str]:
        return [part.strip() for part in self.category.split(">") if part.strip()]

    def facts(self, *, live_copy: dict | None = None) -> dict:
        """The product's facts as the copy generator and the storefront see them."""
        if live_copy is None:
            live_copy = {c.field: c.value for c in self.live_copy.all()}
        return {
            "sku": self.sku,
            "title": self.title,
            "brand": self.brand,
            "category": self.category,
            "price": str(self.price),
            "currency": self.currency,
            "attributes": dict(self.attributes or {}),
            "tags": list(self.tags or []),
            "copy": live_copy,
        }


class CopySource(models.TextChoices):
    ORIGINAL = "original", "Original (imported or typed by the merchant)"
    GENERATED = "generated", "Generated and approved as is"
    EDITED = "edited", "Generated, edited by a reviewer"


class LiveCopy(models.Model):
    """The text shoppers see for one field of one product. `value` is a string, or a list of
    strings for ad_headlines and ad_descriptions."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="live_copy")
    field = models.CharField(max_length=32, choices=[(f, f) for f in COPY_FIELDS])
    value = models.JSONField()
    source = models.CharField(
        max_length=16, choices=CopySource.choices, default=CopySource.ORIGINAL
    )
    revision = models.ForeignKey(
        "CopyRevision", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "field"], name="livecopy_unique_field")
        ]


class SegmentCopy(models.Model):
    """The text that shoppers of one segment see for one field of one product, instead of the
    general live copy (LiveCopy). ``segment`` is the key that CopyDraft.segment holds (the
    segment's id); the storefront serves this row only to the segment's current members."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="segment_copy")
    field = models.CharField(max_length=32, choices=[(f, f) for f in COPY_FIELDS])
    segment = models.CharField(max_length=100)
    value = models.JSONField()
    source = models.CharField(
        max_length=16, choices=CopySource.choices, default=CopySource.GENERATED
    )
    revision = models.ForeignKey(
        "CopyRevision", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "field", "segment"], name="segmentcopy_unique_field"
            )
        ]
        indexes = [models.Index(fields=["merchant", "segment"], name="segmentcopy_segment")]


class CopyRevision(models.Model):
    """Every value a live field ever had, newest last; revert publishes an old value again.
    ``segment`` is empty for the general live copy and names the segment for segment copy."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="copy_revisions")
    field = models.CharField(max_length=32, choices=[(f, f) for f in COPY_FIELDS])
    value = models.JSONField()
    previous_value = models.JSONField(null=True, blank=True)
    segment = models.CharField(max_length=100, blank=True, default="")
    source = models.CharField(max_length=16, choices=CopySource.choices)
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product_id", "field", "-created_at", "-id"]
        indexes = [models.Index(fields=["product", "field", "-created_at"])]


class ProductListing(models.Model):
    """Where a product lives on another platform: its Shopify Handle or WooCommerce ID/SKU, with
    the variants it stands for there, so an export returns to the same product."""

    class Platform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="listings")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    key = models.CharField(max_length=300, help_text="Shopify Handle or WooCommerce ID / SKU.")
    variants = models.JSONField(default=list, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "platform", "key"], name="productlisting_unique_key"
            ),
            models.UniqueConstraint(
                fields=["product", "platform"], name="productlisting_unique_product"
            ),
        ]
