"""Shapes of the experiments API."""

from __future__ import annotations

from rest_framework import serializers

from merchandising.catalog.models import COPY_FIELDS
from merchandising.inputs import DB_INT_MAX

from .models import Experiment, Variant


class VariantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Variant
        fields = ["id", "name", "is_control", "weight", "payload"]


class ExperimentSerializer(serializers.ModelSerializer):
    variants = VariantSerializer(many=True, read_only=True)
    # plain strings in the schema: "kind" enums of other apps would collide in the OpenAPI names
    kind = serializers.CharField(read_only=True, help_text="copy | placement")
    placement = serializers.SlugRelatedField(slug_field="key", read_only=True)
    products = serializers.SlugRelatedField(slug_field="sku", many=True, read_only=True)

    class Meta:
        model = Experiment
        fields = [
            "id", "key", "name", "hypothesis", "kind", "status", "field", "segment", "products", "placement",
            "traffic_share", "attribution_window_hours", "planned_sample_size", "minimum_detectable_effect",
            "sequential", "guardrails", "run", "winner", "started_at", "stopped_at", "shipped_at",
            "rolled_up_at", "created_at", "updated_at", "variants",
        ]  # fmt: skip


class VariantWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    weight = serializers.FloatField(min_value=0.0, max_value=1.0)
    is_control = serializers.BooleanField(default=False)
    payload = serializers.JSONField(required=False, default=dict)


class ExperimentCreateSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=60)
    name = serializers.CharField(max_length=200)
    kind = serializers.CharField(max_length=16, help_text="copy | placement")
    hypothesis = serializers.CharField(required=False, allow_blank=True, default="")
    field = serializers.ChoiceField(
        choices=[(f, f) for f in COPY_FIELDS], required=False, allow_blank=True, default=""
    )
    products = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list
    )
    placement = serializers.CharField(required=False, allow_blank=True, default="")
    traffic_share = serializers.FloatField(min_value=0.0, max_value=1.0, default=1.0)
    attribution_window_hours = serializers.IntegerField(min_value=1, max_value=24 * 90, default=72)
    planned_sample_size = serializers.IntegerField(
        min_value=1, max_value=DB_INT_MAX, required=False, allow_null=True, default=None
    )
    minimum_detectable_effect = serializers.FloatField(
        min_value=0.001, max_value=10.0, default=0.05
    )
    sequential = serializers.BooleanField(default=True)
    guardrails = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    variants = VariantWriteSerializer(many=True)

    def validate_kind(self, value: str) -> str:
        if value not in Experiment.Kind.values:
            raise serializers.ValidationError(f"One of {', '.join(Experiment.Kind.values)}.")
        return value


class ExperimentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    hypothesis = serializers.CharField(required=False, allow_blank=True)
    traffic_share = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    attribution_window_hours = serializers.IntegerField(
        min_value=1, max_value=24 * 90, required=False
    )
    planned_sample_size = serializers.IntegerField(
        min_value=1, max_value=DB_INT_MAX, required=False, allow_null=True
    )
    minimum_detectable_effect = serializers.FloatField(
        min_value=0.001, max_value=10.0, required=False
    )
    sequential = serializers.BooleanField(required=False)
    guardrails = serializers.ListField(child=serializers.CharField(), required=False)


class WeightsSerializer(serializers.Serializer):
    weights = serializers.DictField(child=serializers.FloatField(min_value=0.0, max_value=1.0))
    restart = serializers.BooleanField(default=False)


class ShipSerializer(serializers.Serializer):
    variant = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
