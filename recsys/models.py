"""The model registry: one row per trained recommender version of a merchant.

The artifact (``recsys.training.RecommenderArtifact.to_bytes()``) lives in Django's default
storage at ``artifact_path``, so web processes and workers on other machines load the same
file. At most one version per merchant is active; serving (``recsys.serving``) watches the
active version id and loads a new one without a restart.
"""

from __future__ import annotations

from django.db import models


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        FULL = "full", "Full training"
        UPDATE = "update", "Incremental update"

    merchant = models.ForeignKey(
        "accounts.Merchant", on_delete=models.CASCADE, related_name="model_versions"
    )
    version = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRAINING)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    config = models.JSONField(default=dict, blank=True)
    # {"holdout": {"model": {...}, "popularity": {...}, "k": 10, ...}, "beats_popularity": bool}
    metrics = models.JSONField(default=dict, blank=True)
    # {"events", "interactions", "users", "items", "warm_items", "item_features", ...}
    counts = models.JSONField(default=dict, blank=True)
    training_seconds = models.FloatField(default=0.0)
    trained_until = models.DateTimeField(null=True, blank=True)
    artifact_path = models.CharField(max_length=300, blank=True)
    artifact_size = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["merchant_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "version"], name="modelversion_unique"),
            models.UniqueConstraint(
                fields=["merchant"],
                condition=models.Q(is_active=True),
                name="modelversion_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"model v{self.version} ({self.status})"
