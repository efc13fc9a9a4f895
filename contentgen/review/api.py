"""Merchant API of review: list drafts, approve, edit-approve, reject (one or many), the audit
log and a product's copy history. Reads need any role; decisions need reviewer or owner (secret
keys count as owner). A decision that lost a race answers 409."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from merchandising.accounts.api_base import MerchantGenericAPIView
from merchandising.catalog import selectors as catalog
from merchandising.inputs import DB_INT_MAX
from merchandising.pagination import CheckedLimitOffsetPagination

from . import selectors, services
from .serializers import (
    ApproveSerializer,
    BulkResultSerializer,
    BulkSerializer,
    DecisionSerializer,
    DraftSerializer,
    EditApproveSerializer,
    HistoryEntrySerializer,
    RejectSerializer,
)


class ReviewPage(CheckedLimitOffsetPagination):
    default_limit = 100
    max_limit = 500


class ReviewAPIView(MerchantGenericAPIView):
    write_role = "reviewer"
    pagination_class = ReviewPage


def conflict(exc: services.DraftAlreadyDecided) -> Response:
    body = {"detail": str(exc), "status": exc.draft.status}
    if exc.decision is not None:
        body["decision"] = DecisionSerializer(exc.decision).data
    return Response(body, status=status.HTTP_409_CONFLICT)


def decide(request, draft_id: int, serializer_class, service) -> Response:
    """One decision on one of the merchant's drafts: validate the body with `serializer_class`,
    call the review `service` (approve, edit-approve, reject...) and answer the decision, or 409
    when another reviewer decided the draft first."""
    draft = selectors.draft_get(request.merchant, draft_id)
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    try:
        decision = service(draft=draft, user=request.user, **data.validated_data)
    except services.DraftAlreadyDecided as exc:
        return conflict(exc)
    return Response(DecisionSerializer(decision).data)


DRAFT_FILTERS = [
    OpenApiParameter(
        "status",
        str,
        enum=["pending", "approved", "rejected", "superseded", "all"],
        description="Default pending",
    ),
    OpenApiParameter("kind", str),
    OpenApiParameter("field", str),
    OpenApiParameter("flag", str, description='"hard", "passed" or a flag code'),
    OpenApiParameter("category", str, description="Includes sub-categories"),
    OpenApiParameter("age", str, enum=list(selectors.AGES)),
    OpenApiParameter("stale", bool),
    OpenApiParameter("sku", str),
]


def draft_filters(params) -> dict:
    status_ = params.get("status", "pending")
    stale = params.get("stale")
    return {
        "status": None if status_ == "all" else status_[:20],
        "kind": params.get("kind", "")[:32],
        "field": params.get("field", "")[:32],
        "flag": params.get("flag", "")[:64],
        "category": params.get("category", "")[:300],
        "age": params.get("age", "")[:10],
        "stale": None if stale in (None, "") else stale.lower() in ("1", "true", "yes"),
        "sku": params.get("sku", "")[:100],
    }


class DraftListAPI(ReviewAPIView):
    serializer_class = DraftSerializer

    @extend_schema(parameters=DRAFT_FILTERS, responses=DraftSerializer(many=True))
    def get(self, request):
        qs = selectors.drafts_filtered(request.merchant, **draft_filters(request.query_params))
        page = self.paginate_queryset(qs.order_by("sku", "field", "kind", "variant", "pk"))
        return self.get_paginated_response(DraftSerializer(page, many=True).data)


class DraftDetailAPI(ReviewAPIView):
    serializer_class = DraftSerializer

    def get(self, request, draft_id: int):
        return Response(DraftSerializer(selectors.draft_get(request.merchant, draft_id)).data)


class DraftApproveAPI(ReviewAPIView):
    serializer_class = ApproveSerializer

    @extend_schema(request=ApproveSerializer, responses={200: DecisionSerializer, 409: None})
    def post(self, request, draft_id: int):
        return decide(request, draft_id, ApproveSerializer, services.draft_approve)


class DraftEditApproveAPI(ReviewAPIView):
    serializer_class = EditApproveSerializer

    @extend_schema(request=EditApproveSerializer, responses={200: DecisionSerializer, 409: None})
    def post(self, request, draft_id: int):
        return decide(request, draft_id, EditApproveSerializer, services.draft_edit_approve)


class DraftRejectAPI(ReviewAPIView):
    serializer_class = RejectSerializer

    @extend_schema(request=RejectSerializer, responses={200: DecisionSerializer, 409: None})
    def post(self, request, draft_id: int):
        return decide(request, draft_id, RejectSerializer, services.draft_reject)


class ExperimentArmSerializer(ApproveSerializer):
    key = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class DraftExperimentAPI(ReviewAPIView):
    """Approve a draft as variant B of a new copy experiment (not started) instead of publishing."""

    serializer_class = ExperimentArmSerializer

    @extend_schema(request=ExperimentArmSerializer, responses={200: DecisionSerializer, 409: None})
    def post(self, request, draft_id: int):
        return decide(
            request, draft_id, ExperimentArmSerializer, services.draft_approve_as_experiment
        )


class DraftBulkAPI(ReviewAPIView):
    serializer_class = BulkSerializer

    @extend_schema(request=BulkSerializer, responses=BulkResultSerializer)
    def post(self, request):
        data = BulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["action"] == "approve":
            result = services.drafts_bulk_approve(
                merchant=request.merchant, draft_ids=v["draft_ids"], user=request.user
            )
            verb = "Approved"
        else:
            result = services.drafts_bulk_reject(
                merchant=request.merchant,
                draft_ids=v["draft_ids"],
                user=request.user,
                reason=v["reason"],
                note=v.get("note", ""),
            )
            verb = "Rejected"
        return Response(
            {
                "decided": DecisionSerializer(result.decided, many=True).data,
                "skipped": {str(k): v for k, v in result.skipped.items()},
                "summary": result.summary(verb),
            }
        )


class DecisionListAPI(ReviewAPIView):
    serializer_class = DecisionSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("action", str, enum=[a for a, _ in services.Action.choices]),
            OpenApiParameter("kind", str),
            OpenApiParameter("sku", str),
        ],
        responses=DecisionSerializer(many=True),
    )
    def get(self, request):
        p = request.query_params
        qs = selectors.decisions_list(
            request.merchant, action=p.get("action", "")[:16], kind=p.get("kind", "")[:32]
        )
        if p.get("sku"):
            qs = qs.filter(sku=p["sku"][:100])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(DecisionSerializer(page, many=True).data)


class CopyHistoryAPI(ReviewAPIView):
    serializer_class = HistoryEntrySerializer

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    def get(self, request, sku: str):
        product = catalog.product_get(request.merchant, sku)
        entries = [
            {
                "revision_id": e["revision"].pk,
                "created_at": e["revision"].created_at,
                "field": e["revision"].field,
                "value": e["revision"].value,
                "previous_value": e["revision"].previous_value,
                "source": e["revision"].source,
                "note": e["revision"].note,
                "who": e["decision"].actor
                if e["decision"]
                else (e["revision"].created_by.get_username() if e["revision"].created_by else ""),
                "decision": DecisionSerializer(e["decision"]).data if e["decision"] else None,
            }
            for e in selectors.copy_history(request.merchant, product)
        ]
        return Response(entries)


class RevertSerializer(serializers.Serializer):
    revision_id = serializers.IntegerField(min_value=1, max_value=DB_INT_MAX)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class CopyRevertAPI(ReviewAPIView):
    serializer_class = RevertSerializer

    @extend_schema(request=RevertSerializer, responses=DecisionSerializer)
    def post(self, request, sku: str):
        product = catalog.product_get(request.merchant, sku)
        data = RevertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decision = services.copy_revert(product=product, user=request.user, **data.validated_data)
        return Response(DecisionSerializer(decision).data)
