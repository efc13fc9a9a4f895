from rest_framework import serializers

from merchandising.inputs import DB_INT_MAX
from merchandising.parsers import CheckedJSONField

from .models import Segment, SegmentRun, VisitorProfile


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = [
            "id",
            "kind",
            "name",
            "size",
            "card",
            "rule",
            "is_active",
            "named_by_merchant",
            "updated_at",
        ]


class SegmentRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SegmentRun
        fields = [
            "id",
            "visitors",
            "k",
            "silhouette",
            "scores",
            "criterion",
            "model_version",
            "created_at",
        ]


class SegmentRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)


class SegmentMergeSerializer(serializers.Serializer):
    segment_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DB_INT_MAX),
        min_length=2,
        max_length=20,
    )
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class RuleSegmentSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    rule = CheckedJSONField()


class VisitorProfileSerializer(serializers.ModelSerializer):
    average_order_value = serializers.FloatField(read_only=True)
    segments = serializers.SerializerMethodField()

    class Meta:
        model = VisitorProfile
        fields = [
            "visitor_id",
            "first_seen",
            "last_seen",
            "last_purchase",
            "orders",
            "orders_90d",
            "revenue",
            "average_order_value",
            "views",
            "clicks",
            "carts",
            "category_shares",
            "top_categories",
            "top_brands",
            "price_position",
            "price_band",
            "device",
            "country",
            "model_version",
            "segments",
        ]

    def get_segments(self, obj) -> list[dict]:
        return [
            {"id": s.id, "name": s.name, "kind": s.kind} for s in self.context.get("segments", [])
        ]


class PrivacySerializer(serializers.Serializer):
    event_retention_days = serializers.IntegerField(min_value=1, max_value=3650, allow_null=True)
