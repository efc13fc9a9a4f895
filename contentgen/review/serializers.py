"""Shapes of review's merchant API."""

from __future__ import annotations

from rest_framework import serializers

from contentgen.models import CopyDraft
from merchandising.inputs import DB_INT_MAX
from merchandising.parsers import CheckedJSONField

from .models import RejectionReason, ReviewDecision


class FlagSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.CharField()
    message = serializers.CharField()


class DraftSerializer(serializers.ModelSerializer):
    text = serializers.JSONField()
    flags = FlagSerializer(many=True)
    stale = serializers.BooleanField(source="is_stale")
    product_status = serializers.SerializerMethodField()

    class Meta:
        model = CopyDraft
        fields = [
            "id",
            "sku",
            "kind",
            "field",
            "variant",
            "segment",
            "text",
            "flags",
            "passed",
            "coverage",
            "status",
            "stale",
            "product_status",
            "model_id",
            "created_at",
        ]

    def get_product_status(self, draft) -> str:
        return draft.product.status if draft.product_id and draft.product else "deleted"


class DecisionSerializer(serializers.ModelSerializer):
    draft_id = serializers.IntegerField(allow_null=True)
    revision_id = serializers.IntegerField(allow_null=True)
    experiment_id = serializers.IntegerField(allow_null=True)
    draft_text = serializers.JSONField()
    text = serializers.JSONField()
    before = serializers.JSONField()
    after = serializers.JSONField()

    class Meta:
        model = ReviewDecision
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "sku",
            "field",
            "kind",
            "segment",
            "draft_id",
            "revision_id",
            "experiment_id",
            "reason",
            "note",
            "edited",
            "approved_anyway",
            "stale",
            "draft_text",
            "text",
            "before",
            "after",
            "flags",
        ]


class ApproveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    approve_anyway = serializers.BooleanField(required=False, default=False)


class EditApproveSerializer(ApproveSerializer):
    text = CheckedJSONField(
        help_text="The edited text; a list (or one item per line) for list kinds."
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=RejectionReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["approve", "reject"])
    draft_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=DB_INT_MAX),
        min_length=1,
        max_length=500,
    )
    reason = serializers.ChoiceField(choices=RejectionReason.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    def validate(self, attrs):
        if attrs["action"] == "reject" and not attrs.get("reason"):
            raise serializers.ValidationError({"reason": "A reason is needed to reject."})
        return attrs


class BulkResultSerializer(serializers.Serializer):
    decided = DecisionSerializer(many=True)
    skipped = serializers.DictField(child=serializers.CharField())
    summary = serializers.CharField()


class HistoryEntrySerializer(serializers.Serializer):
    revision_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    field = serializers.CharField()
    value = serializers.JSONField()
    previous_value = serializers.JSONField()
    source = serializers.CharField()
    note = serializers.CharField()
    who = serializers.CharField()
    decision = DecisionSerializer(allow_null=True)
