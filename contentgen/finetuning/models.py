"""Registry of brand-voice LoRA adapters: one row per training run, per merchant.

The adapter files live in Django's default storage under ``artifact_prefix`` so that web and
workers on different machines see the same files; workers copy them to a local cache folder to
load them with peft. At most one adapter per merchant is active; none active means generation
uses the base model.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AdapterVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    merchant = models.ForeignKey(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="copy_adapters"
    )
    version = models.PositiveIntegerField()
    base_model = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRAINING)
    is_active = models.BooleanField(default=False)
    training_settings = models.JSONField(default=dict, blank=True)
    # {"usable", "per_kind", "left_out", "messages", "train", "eval"}
    data = models.JSONField(default=dict, blank=True)
    data_size = models.PositiveIntegerField(default=0)
    # {"base": {...}, "adapter": {...}, "train_loss", "steps", "seconds", "samples": [...]}
    metrics = models.JSONField(default=dict, blank=True)
    # live training progress for the page: {"step", "total", "loss", "seconds_left"}
    progress = models.JSONField(default=dict, blank=True)
    artifact_prefix = models.CharField(max_length=300, blank=True)
    artifact_files = models.JSONField(default=list, blank=True)
    prompt_version = models.CharField(max_length=20, blank=True)
    auto_activate = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "version"], name="adapter_unique_version"),
            models.UniqueConstraint(
                fields=["merchant"],
                condition=models.Q(is_active=True),
                name="adapter_one_active_per_merchant",
            ),
        ]

    def __str__(self) -> str:
        return f"adapter v{self.version} of merchant {self.merchant_id} ({self.status})"

    @property
    def display_status(self) -> str:
        """Status as the merchant should read it: a run whose job ended early is not training."""
        if self.status == self.Status.TRAINING and self.job is not None and self.job.is_finished:
            return self.job.status
        return self.status

    @property
    def is_better(self) -> bool | None:
        """Lower held-out loss than the base model (None before evaluation)."""
        base = (self.metrics or {}).get("base", {}).get("eval_loss")
        adapter = (self.metrics or {}).get("adapter", {}).get("eval_loss")
        if base is None or adapter is None:
            return None
        return adapter < base


class AdapterActivation(models.Model):
    """History of what generation used: each activation or rollback, with who and when.

    ``adapter`` None means the merchant went back to the base model.
    """

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.CASCADE, related_name="+")
    adapter = models.ForeignKey(
        AdapterVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="activations"
    )
    automatic = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["merchant", "-created_at"])]
