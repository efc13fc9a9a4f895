"""Brand voice per merchant, and the drafts that generation writes for review.

Generation never touches live copy (catalog.LiveCopy): it writes CopyDraft rows only;
review publishes an approved draft through catalog.services.live_copy_publish.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from contentgen.adapters import HOUSE_ADAPTER_ID
from contentgen.specs import KIND_NAMES, KINDS
from merchandising.catalog.models import COPY_FIELDS


def _empty_list() -> list:
    return []


class BrandVoice(models.Model):
    """How a merchant's copy should sound. One per merchant; a missing row means the defaults."""

    class Tone(models.TextChoices):
        FRIENDLY = "friendly", "Friendly"
        PREMIUM = "premium", "Premium"
        PLAYFUL = "playful", "Playful"
        TECHNICAL = "technical", "Technical"
        NEUTRAL = "neutral", "Neutral"

    merchant = models.OneToOneField(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="brand_voice"
    )
    tone = models.CharField(
        max_length=100, default=Tone.FRIENDLY, help_text="e.g. friendly, premium, playful"
    )
    audience = models.CharField(max_length=300, blank=True)
    avoid_words = models.JSONField(default=_empty_list, blank=True)
    avoid_claims = models.JSONField(default=_empty_list, blank=True)
    prefer_phrases = models.JSONField(default=_empty_list, blank=True)
    language = models.CharField(max_length=40, default="en")
    # [{"kind": "description", "text": "...", "source": "manual" | "approved"}], newest last
    examples = models.JSONField(default=_empty_list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # enough per kind that generation can pick the two nearest a product by category
    MAX_EXAMPLES_PER_KIND = 12

    def __str__(self) -> str:
        return f"Brand voice of {self.merchant_id}"

    def as_prompt_voice(self) -> dict:
        """The ``voice`` dict that contentgen.prompts and contentgen.guards read."""
        return {
            "tone": self.tone,
            "audience": self.audience,
            "avoid_words": list(self.avoid_words or []),
            "avoid_claims": list(self.avoid_claims or []),
            "prefer_phrases": list(self.prefer_phrases or []),
            "language": self.language,
            "examples": list(self.examples or []),
        }


class CopyTarget(models.Model):
    """What a piece of copy is written for, as drafts and review decisions both record it: the
    product's SKU (kept as text, so the row still reads after the product is deleted), the live
    copy field, and the shopper segment ("" = all shoppers)."""

    sku = models.CharField(max_length=100)
    field = models.CharField(max_length=32, choices=[(f, f) for f in COPY_FIELDS])
    # "" = written for all shoppers; a segment key when written for one shopper segment
    segment = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        abstract = True


class CopyDraft(CopyTarget):
    """One generated variant of one field of one product, waiting for a human.

    ``text`` is a string, or a list of strings for list kinds (bullets, ad headlines, ad
    descriptions). ``flags`` are the guard findings (``[{"code", "severity", "message",
    "detail"}]``); ``passed`` is False when any is hard. Re-running the same job updates the
    same rows (unique per job, product, kind, variant and segment) instead of adding new ones.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded by a newer generation"

    merchant = models.ForeignKey(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="copy_drafts"
    )
    # SET_NULL: a deleted product's drafts stay for the audit trail; review refuses to approve them.
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="copy_drafts",
    )
    kind = models.CharField(max_length=32, choices=[(k, KINDS[k].label) for k in KIND_NAMES])
    variant = models.PositiveSmallIntegerField(default=0)
    text = models.JSONField()
    flags = models.JSONField(default=_empty_list, blank=True)
    passed = models.BooleanField(default=False)
    coverage = models.FloatField(default=0.0)
    seed = models.BigIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=1)
    model_id = models.CharField(max_length=300, blank=True)
    adapter_id = models.CharField(max_length=300, blank=True)
    # why the reranker kept this variant: its position among the field's candidates and the
    # inputs (hard flags, coverage, soft flags, mean log-probability); {} for older drafts
    rank = models.JSONField(default=dict, blank=True)
    prompt_version = models.CharField(max_length=20, blank=True)
    warnings = models.JSONField(default=_empty_list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    product_updated_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="copy_drafts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id", "kind", "variant", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "product", "kind", "variant", "segment"],
                condition=models.Q(job__isnull=False),
                name="copydraft_unique_per_job",
            )
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "-created_at"]),
            models.Index(fields=["merchant", "product", "kind", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.kind} #{self.variant} ({self.status})"

    @property
    def written_by(self) -> str:
        """Which adapter wrote the draft, in words: the house adapter, the merchant's own
        fine-tuned adapter, or the base model."""
        if not self.adapter_id:
            return "base model"
        if self.adapter_id == HOUSE_ADAPTER_ID:
            return "house adapter"
        return "fine-tuned adapter"

    @property
    def is_list(self) -> bool:
        return isinstance(self.text, list)

    @property
    def hard_flags(self) -> list[dict]:
        return [f for f in self.flags or [] if f.get("severity") == "hard"]

    @property
    def soft_flags(self) -> list[dict]:
        return [f for f in self.flags or [] if f.get("severity") != "hard"]

    @property
    def is_stale(self) -> bool:
        """The product changed (or was deleted) after this draft was written."""
        if self.product is None:
            return True
        return bool(self.product_updated_at and self.product.updated_at > self.product_updated_at)
