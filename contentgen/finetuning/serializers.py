"""Shapes of the fine-tuning API."""

from __future__ import annotations

from rest_framework import serializers

from contentgen.finetuning.models import AdapterActivation, AdapterVersion
from contentgen.finetuning.selectors import base_models_allowed
from merchandising.inputs import DB_INT_MAX
from merchandising.parsers import CheckedJSONField


class AdapterSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="display_status", read_only=True)
    is_better = serializers.BooleanField(read_only=True, allow_null=True)
    job_id = serializers.IntegerField(read_only=True, allow_null=True)
    job_status = serializers.CharField(source="job.status", read_only=True, default=None)
    job_message = serializers.CharField(source="job.message", read_only=True, default=None)
    activated_by = serializers.CharField(
        source="activated_by.username", read_only=True, default=None
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = AdapterVersion
        fields = [
            "id",
            "version",
            "base_model",
            "status",
            "is_active",
            "is_better",
            "data_size",
            "data",
            "metrics",
            "progress",
            "training_settings",
            "prompt_version",
            "auto_activate",
            "error",
            "job_id",
            "job_status",
            "job_message",
            "created_by",
            "created_at",
            "finished_at",
            "activated_by",
            "activated_at",
        ]
        read_only_fields = fields


class ActivationSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="adapter.version", read_only=True, default=None)
    user = serializers.CharField(source="user.username", read_only=True, default=None)

    class Meta:
        model = AdapterActivation
        fields = ["version", "automatic", "note", "user", "created_at"]
        read_only_fields = fields


class FinetuneStartSerializer(serializers.Serializer):
    settings = CheckedJSONField(
        required=False, help_text='LoRA settings to override, e.g. {"rank": 8, "max_steps": 200}'
    )
    model = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="The base model to fine-tune, by name: `default` (the configured generation "
        "model) or one the operator allows in CONTENTGEN_FINETUNE_MODELS. Never a path.",
    )
    eval_fraction = serializers.FloatField(
        required=False, default=0.2, min_value=0.05, max_value=0.45
    )
    auto_activate = serializers.BooleanField(required=False, default=False)
    file = serializers.FileField(required=False, help_text="optional JSONL or CSV of past copy")

    def validate_model(self, value: str) -> str:
        """The allowed model's id or path ("" for the default) for the name sent."""
        allowed = base_models_allowed()
        name = (value or "").strip() or "default"
        if name not in allowed:
            raise serializers.ValidationError(
                f"Not a base model this server fine-tunes; one of: {', '.join(allowed)}."
            )
        return allowed[name]

    def validate_settings(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object of setting names and values.")
        return value


class RollbackSerializer(serializers.Serializer):
    to = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=DB_INT_MAX,
        help_text="adapter id; null or absent: the base model",
    )


class PastCopyUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text='JSONL lines {"product": {...facts...}, "kind": "description", "text": "..."}, '
        "or a CSV with columns kind, text and sku or title (plus product columns)"
    )
    partial = serializers.BooleanField(
        required=False,
        default=False,
        help_text="keep only the valid lines of a file with bad lines (default: refuse it whole)",
    )

    def validate_file(self, value):
        from contentgen.finetuning.past_copy import too_big_message

        too_big = too_big_message(value.size)
        if too_big:
            raise serializers.ValidationError(too_big)
        return value


# Why a past-copy line was refused or left out (named in the OpenAPI schema's enum overrides).
PAST_COPY_PROBLEM_REASONS = [
    "bad_line",
    "unknown_kind",
    "unknown_sku",
    "failed_guards",
    "duplicate",
    "too_long",
]


class PastCopyProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField()
    reason = serializers.ChoiceField(choices=PAST_COPY_PROBLEM_REASONS)
    message = serializers.CharField()


class PastCopySerializer(serializers.Serializer):
    """The merchant's standing past copy and what was kept or left out of its upload."""

    uploaded = serializers.BooleanField()
    filename = serializers.CharField()
    uploaded_at = serializers.DateTimeField(allow_null=True)
    uploaded_by = serializers.CharField()
    partial = serializers.BooleanField()
    lines = serializers.IntegerField()
    kept = serializers.IntegerField()
    per_kind = serializers.DictField(child=serializers.IntegerField())
    left_out = serializers.DictField(child=serializers.IntegerField())
    left_out_total = serializers.IntegerField()
    problems = PastCopyProblemSerializer(many=True)
