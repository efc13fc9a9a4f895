"""Visitor profiles, segments (found by clustering or defined by a rule), memberships, erasures."""

from __future__ import annotations

from django.conf import settings
from django.db import models

MAX_VISITOR_ID = 200


class VisitorProfile(models.Model):
    """What a visitor's behaviour says about them (rebuilt from events; see profiles.py)."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    visitor_id = models.CharField(max_length=MAX_VISITOR_ID)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    last_purchase = models.DateTimeField(null=True, blank=True)
    orders = models.IntegerField(default=0)
    orders_90d = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    views = models.IntegerField(default=0)
    clicks = models.IntegerField(default=0)
    carts = models.IntegerField(default=0)
    category_shares = models.JSONField(default=dict, blank=True)
    top_categories = models.JSONField(default=list, blank=True)
    top_brands = models.JSONField(default=list, blank=True)
    price_position = models.FloatField(null=True, blank=True)
    price_band = models.CharField(max_length=16, blank=True)
    device = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=64, blank=True)
    # The visitor's learned LightFM representation, when the active model knows them.
    embedding = models.JSONField(null=True, blank=True)
    model_version = models.IntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "visitor_id"], name="profile_unique_visitor"
            )
        ]
        indexes = [models.Index(fields=["merchant", "-last_seen"], name="profile_last_seen")]

    def __str__(self) -> str:
        return self.visitor_id

    @property
    def average_order_value(self) -> float:
        return float(self.revenue) / self.orders if self.orders else 0.0

    def recency_days(self, now) -> float:
        return max(0.0, (now - self.last_seen).total_seconds() / 86400)

    def rule_view(self, now) -> dict:
        """The fields a segment rule can test (see rules.FIELDS)."""
        return {
            "orders": self.orders,
            "orders_90d": self.orders_90d,
            "revenue": float(self.revenue),
            "average_order_value": self.average_order_value,
            "recency_days": self.recency_days(now),
            "views": self.views,
            "carts": self.carts,
            "country": self.country,
            "device": self.device,
            "price_band": self.price_band,
            "top_categories": self.top_categories,
            "top_brands": self.top_brands,
        }


class SegmentRun(models.Model):
    """One clustering of a merchant's visitors: how many segments and why."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    visitors = models.IntegerField(default=0)
    k = models.IntegerField(default=0)
    silhouette = models.FloatField(null=True, blank=True)
    scores = models.JSONField(default=dict, blank=True)  # k -> mean silhouette
    criterion = models.CharField(max_length=120, blank=True)
    features = models.JSONField(default=list, blank=True)
    model_version = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class Segment(models.Model):
    class Kind(models.TextChoices):
        FOUND = "found", "Found by clustering"
        RULE = "rule", "Defined by a rule"

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=120)
    # True once a person named it: later clustering runs keep the name for the matching segment.
    named_by_merchant = models.BooleanField(default=False)
    run = models.ForeignKey(
        SegmentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="segments"
    )
    card = models.JSONField(default=dict, blank=True)
    rule = models.JSONField(null=True, blank=True)
    size = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_active", "kind", "-size", "id"]
        indexes = [models.Index(fields=["merchant", "is_active", "kind"], name="segment_active")]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    visitor_id = models.CharField(max_length=MAX_VISITOR_ID)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "visitor_id"], name="membership_unique")
        ]
        indexes = [models.Index(fields=["merchant", "visitor_id"], name="membership_visitor")]


class ErasureLog(models.Model):
    """Proof that a visitor was erased. The id is kept only as a keyed hash, so the log can
    confirm that a given id was erased without storing it."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    visitor_hash = models.CharField(max_length=64)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=16)  # api | dashboard | command
    found = models.BooleanField(default=False)
    counts = models.JSONField(default=dict)  # model label -> rows deleted
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class PrivacySettings(models.Model):
    """How long raw events are kept for a merchant (None: kept until erased)."""

    merchant = models.OneToOneField("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    event_retention_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
