from rest_framework import serializers

from contentgen.models import BrandVoice, CopyDraft
from contentgen.specs import KIND_NAMES, normalize_kind


class GenerationRequestSerializer(serializers.Serializer):
    """Exactly one of ``skus``, ``category`` or ``all``; ``kinds`` defaults to every kind;
    ``segment`` (optional) is the id of the shopper segment the copy is written for."""

    skus = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50_000
    )
    category = serializers.CharField(required=False, allow_blank=True, max_length=300)
    all = serializers.BooleanField(required=False, default=False)
    kinds = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=lambda: list(KIND_NAMES)
    )
    variants = serializers.IntegerField(required=False, min_value=1, max_value=5, allow_null=True)
    segment = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        default="",
        help_text="Write for one shopper segment: the id of an active segment (empty: everyone). "
        "Approved drafts become that segment's copy, served to its members only.",
    )

    def validate(self, attrs):
        chosen = [bool(attrs.get("skus")), bool(attrs.get("category")), bool(attrs.get("all"))]
        if sum(chosen) != 1:
            raise serializers.ValidationError("Give exactly one of: skus, category, all.")
        return attrs


class BrandVoiceSerializer(serializers.ModelSerializer):
    # A merchant who never saved a voice gets the defaults, not yet stored: no time yet.
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

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

    # The list fields are JSON on the model: check their shape here, or a stray `true` or a
    # number reaches the service and answers 500 (found by the schemathesis run).
    def _terms(self, value):
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise serializers.ValidationError(
                "A list of words or phrases, or comma-separated text."
            )
        return value

    validate_avoid_words = validate_avoid_claims = validate_prefer_phrases = _terms

    def validate_examples(self, value):
        if value is None:
            return value
        ok = isinstance(value, list) and all(
            isinstance(v, str)
            or (isinstance(v, dict) and isinstance(v.get("text", ""), str | list))
            for v in value
        )
        if not ok:
            raise serializers.ValidationError(
                'A list of example texts, or of {"kind": ..., "text": ...} objects.'
            )
        for item in value:
            kind = item.get("kind") if isinstance(item, dict) else None
            if kind:
                try:
                    normalize_kind(str(kind))
                except ValueError as exc:
                    raise serializers.ValidationError(str(exc)) from None
        return value


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
