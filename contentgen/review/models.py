"""The audit log of review: every decision on a draft (and every revert of live copy).

A decision row keeps its own copy of what was decided (SKU, field, the text as generated, the
text as approved, the live text before and after), so the log still reads correctly after the
draft or the product is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from contentgen.models import CopyTarget


class RejectionReason(models.TextChoices):
    """The short list a reviewer picks from; counted per kind on the rejection report."""

    INACCURATE = "inaccurate", "Wrong or invented facts"
    OFF_BRAND = "off_brand", "Does not sound like our brand"
    GENERIC = "generic", "Too generic or bland"
    LANGUAGE = "language", "Grammar, spelling or wrong language"
    LENGTH = "length", "Too long, too short or cut off"
    REPETITIVE = "repetitive", "Repetitive"
    CLAIMS = "claims", "Claims we cannot make"
    OTHER = "other", "Other"


class ReviewDecision(CopyTarget):
    class Action(models.TextChoices):
        APPROVE = "approve", "Approved"
        EDIT_APPROVE = "edit_approve", "Edited and approved"
        REJECT = "reject", "Rejected"
        REVERT = "revert", "Reverted live copy"
        EXPERIMENT = "experiment", "Approved as an experiment arm"

    merchant = models.ForeignKey(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="review_decisions"
    )
    draft = models.ForeignKey(
        "contentgen.CopyDraft",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
    )
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_decisions",
    )
    kind = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.CharField(max_length=16, choices=RejectionReason.choices, blank=True)
    note = models.TextField(blank=True, help_text="Free text: why, or the approve-anyway note.")
    # The draft as generated, the text as approved (edited or not; kind format, e.g. a list of
    # bullets), and the live field before and after the decision.
    draft_text = models.JSONField(null=True, blank=True)
    text = models.JSONField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    edited = models.BooleanField(default=False)
    # Guard flags at the time of the decision (re-run on edited text).
    flags = models.JSONField(default=list, blank=True)
    approved_anyway = models.BooleanField(
        default=False, help_text="Approved although a hard guard flagged the text."
    )
    stale = models.BooleanField(
        default=False, help_text="The product had changed after the draft was written."
    )
    revision = models.ForeignKey(
        "catalog.CopyRevision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    experiment = models.ForeignKey(
        "experiments.Experiment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The A/B test this draft became an arm of (instead of going live).",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=200, help_text="Who decided, as shown in the log.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["merchant", "-created_at"]),
            models.Index(fields=["merchant", "product", "-created_at"]),
            models.Index(fields=["merchant", "action", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.sku} {self.field} by {self.actor}"
