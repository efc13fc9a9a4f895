"""Storefront events and the links between anonymous and signed-in visitor ids."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

MAX_VISITOR_ID = 200
MAX_EVENT_ID = 100


class EventType(models.TextChoices):
    IMPRESSION = "impression", "Impression"
    VIEW = "view", "View"
    CLICK = "click", "Click"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    PURCHASE = "purchase", "Purchase"


class Event(models.Model):
    """One thing a visitor did. ``event_id`` is the client's id: a retried event is stored once.

    ``sku`` is kept as sent; ``product`` is set when the SKU named a product of the merchant at
    ingestion time (unknown SKUs are stored and counted, not refused).
    """

    id = models.BigAutoField(primary_key=True)
    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=MAX_EVENT_ID)
    type = models.CharField(max_length=16, choices=EventType.choices)
    visitor_id = models.CharField(max_length=MAX_VISITOR_ID)
    sku = models.CharField(max_length=64, blank=True)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ts = models.DateTimeField()
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    placement = models.CharField(max_length=64, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    device = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "event_id"], name="event_unique_id")
        ]
        indexes = [
            models.Index(fields=["merchant", "visitor_id", "-ts"], name="event_visitor_ts"),
            models.Index(fields=["merchant", "ts"], name="event_merchant_ts"),
            models.Index(
                fields=["merchant", "request_id"],
                name="event_request",
                condition=~models.Q(request_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.sku} by {self.visitor_id}"


class VisitorLink(models.Model):
    """An anonymous visitor id that turned out to be a signed-in visitor: training merges both."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    anonymous_id = models.CharField(max_length=MAX_VISITOR_ID)
    visitor_id = models.CharField(max_length=MAX_VISITOR_ID)
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "anonymous_id"], name="visitorlink_unique_anonymous"
            )
        ]

    def __str__(self) -> str:
        return f"{self.anonymous_id} -> {self.visitor_id}"
