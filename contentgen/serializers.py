from rest_framework import serializers

from contentgen.models import BrandVoice, CopyDraft
from contentgen.specs import KIND_NAMES


class GenerationRequestSerializer(serializers.Serializer):
    """Exactly one of ``skus``, ``category`` or ``all``; ``kinds`` defaults to every kind."""

    skus = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50_000
    )
    category = serializers.CharField(required=False, allow_blank=True, max_length=300)
    all = serializers.BooleanField(required=False, default=False)
    kinds = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=lambda: list(KIND_NAMES)
    )
    variants = serializers.IntegerField(required=False, min_value=1, max_value=5, allow_null=True)
    segment = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")

    def validate(self, attrs):
        chosen = [bool(attrs.get("skus")), bool(attrs.get("category")), bool(attrs.get("all"))]
        if sum(chosen) != 1:
            raise serializers.ValidationError("Give exactly one of: skus, category, all.")
        return attrs


class BrandVoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = BrandVoice
        fields = [
            "tone",
            "audience",
            "avoid_words",
            "avoid_claims",
            "prefer_phrases",
            "language",
            "examples",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class CopyDraftSerializer(serializers.ModelSerializer):
    is_stale = serializers.BooleanField(read_only=True)

    class Meta:
        model = CopyDraft
        fields = [
            "id",
            "sku",
            "kind",
            "field",
            "variant",
            "text",
            "flags",
            "passed",
            "coverage",
            "status",
            "is_stale",
            "segment",
            "model_id",
            "adapter_id",
            "job",
            "created_at",
        ]
        read_only_fields = fields
