"""Shapes of the recommender's merchant API (model versions)."""

from __future__ import annotations

from rest_framework import serializers

from recsys.models import ModelVersion


class ModelVersionSerializer(serializers.ModelSerializer):
    """A model version as the list shows it: hold-out NDCG next to popularity, training time."""

    holdout = serializers.SerializerMethodField()
    job_id = serializers.IntegerField(allow_null=True, read_only=True)
    parent_version = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "version",
            "kind",
            "status",
            "is_active",
            "created_at",
            "trained_until",
            "training_seconds",
            "counts",
            "holdout",
            "artifact_size",
            "job_id",
            "parent_version",
            "error",
        ]
        read_only_fields = fields

    def get_holdout(self, obj: ModelVersion) -> dict:
        metrics = obj.metrics or {}
        models = metrics.get("models") or {}
        return {
            "k": metrics.get("k"),
            "model": models.get("merchlab"),
            "popularity": models.get("popularity"),
            "beats_popularity": metrics.get("beats_popularity"),
            "skipped": metrics.get("skipped"),
        }

    def get_parent_version(self, obj: ModelVersion) -> int | None:
        # Only the number: the parent is always the same merchant's (set by recommender_update).
        return obj.parent.version if obj.parent_id else None


class ModelVersionDetailSerializer(ModelVersionSerializer):
    """One version in full: every hold-out metric and the training configuration."""

    class Meta(ModelVersionSerializer.Meta):
        fields = ModelVersionSerializer.Meta.fields + ["metrics", "config"]
        read_only_fields = fields


class ModelVersionRollbackSerializer(serializers.Serializer):
    to = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**31 - 1,
        help_text="Id of the version to go back to; absent: the newest ready version before "
        "the active one.",
    )
