"""Merchant API for experiments and their results, and the storefront assignments endpoint."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from merchandising.accounts.api_base import MerchantAPIView, StorefrontAPIView
from merchandising.catalog.models import Product
from merchandising.storefront.models import Placement

from . import selectors, services
from .serializers import (
    ExperimentCreateSerializer,
    ExperimentSerializer,
    ExperimentUpdateSerializer,
    ShipSerializer,
    WeightsSerializer,
)


def _user(request):
    return (
        request.user
        if getattr(request.user, "pk", None) and hasattr(request.user, "is_staff")
        else None
    )


def results_payload(report: dict) -> dict:
    """The JSON the results endpoint returns (the report without model instances)."""
    return {
        "experiment": report["experiment"].key,
        "status": report["experiment"].status,
        "segment": report.get("segment", ""),
        "inference": report.get("inference"),
        "analysis": report["analysis"],
        "secondary": report["secondary"],
        "warnings": report["warnings"],
        "series": report["series"],
        "segments": report.get("segments", []),
    }


class ExperimentListAPI(MerchantAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str), OpenApiParameter("kind", str)],
        responses=ExperimentSerializer(many=True),
    )
    def get(self, request):
        qs = selectors.experiments_list(
            request.merchant,
            status=request.query_params.get("status"),
            kind=request.query_params.get("kind"),
        ).prefetch_related("products")
        return Response(ExperimentSerializer(qs, many=True).data)

    @extend_schema(request=ExperimentCreateSerializer, responses={201: ExperimentSerializer})
    def post(self, request):
        data = ExperimentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        skus = d.pop("products")
        products = list(Product.objects.filter(merchant=request.merchant, sku__in=skus))
        missing = set(skus) - {p.sku for p in products}
        if missing:
            raise exceptions.ValidationError({"products": [f"Unknown SKU {sorted(missing)[0]!r}."]})
        placement_key = d.pop("placement")
        placement = None
        if placement_key:
            placement = Placement.objects.filter(
                merchant=request.merchant, key=placement_key
            ).first()
            if placement is None:
                raise exceptions.ValidationError(
                    {"placement": [f"Unknown placement {placement_key!r}."]}
                )
        experiment = services.experiment_create(
            merchant=request.merchant,
            products=products,
            placement=placement,
            user=_user(request),
            **d,
        )
        return Response(ExperimentSerializer(experiment).data, status=status.HTTP_201_CREATED)


class ExperimentDetailAPI(MerchantAPIView):
    @extend_schema(responses=ExperimentSerializer)
    def get(self, request, experiment_id: int):
        return Response(
            ExperimentSerializer(selectors.experiment_get(request.merchant, experiment_id)).data
        )

    @extend_schema(request=ExperimentUpdateSerializer, responses=ExperimentSerializer)
    def patch(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.merchant, experiment_id)
        data = ExperimentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        experiment = services.experiment_update(experiment=experiment, **data.validated_data)
        return Response(ExperimentSerializer(experiment).data)


class ExperimentActionAPI(MerchantAPIView):
    """POST .../start, .../pause, .../stop."""

    action_name = ""

    @extend_schema(request=None, responses=ExperimentSerializer)
    def post(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.merchant, experiment_id)
        experiment = services.experiment_transition(
            experiment=experiment, action=self.action_name, user=_user(request)
        )
        return Response(ExperimentSerializer(experiment).data)


class ExperimentWeightsAPI(MerchantAPIView):
    @extend_schema(request=WeightsSerializer, responses=ExperimentSerializer)
    def post(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.merchant, experiment_id)
        data = WeightsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        out = services.experiment_weights_set(experiment=experiment, **data.validated_data)
        body = ExperimentSerializer(selectors.experiment_get(request.merchant, experiment_id)).data
        return Response({**body, "warning": out["warning"]})


class ExperimentShipAPI(MerchantAPIView):
    @extend_schema(request=ShipSerializer, responses=ExperimentSerializer)
    def post(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.merchant, experiment_id)
        data = ShipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        experiment = services.experiment_ship(
            experiment=experiment,
            variant_name=data.validated_data["variant"] or None,
            user=_user(request),
        )
        return Response(ExperimentSerializer(experiment).data)


class ExperimentResultsAPI(MerchantAPIView):
    @extend_schema(responses=dict)
    def get(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.merchant, experiment_id)
        return Response(results_payload(selectors.experiment_report(request.merchant, experiment)))


DAILY_COLUMNS = [
    "day",
    "variant",
    "exposures",
    "converters",
    "add_to_cart",
    "clickers",
    "revenue_sum",
    "revenue_sumsq",
]


def daily_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=DAILY_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "day": row["day"].isoformat()})
    return out.getvalue()


class ExperimentDailyCSVAPI(MerchantAPIView):
    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.merchant, experiment_id)
        response = HttpResponse(
            daily_csv(selectors.experiment_days(request.merchant, experiment)),
            content_type="text/csv",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="experiment-{experiment.key}-daily.csv"'
        )
        return response


def segments_csv(segments: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=selectors.SEGMENT_COLUMNS)
    writer.writeheader()
    for row in selectors.segment_rows(segments):
        writer.writerow(row)
    return out.getvalue()


def segments_csv_response(merchant, experiment) -> HttpResponse:
    response = HttpResponse(
        segments_csv(selectors.experiment_segments(merchant, experiment)), content_type="text/csv"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="experiment-{experiment.key}-segments.csv"'
    )
    return response


class ExperimentSegmentsCSVAPI(MerchantAPIView):
    """Results per shopper segment and variant, one row each."""

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request, experiment_id: int):
        experiment = selectors.experiment_get(request.merchant, experiment_id)
        return segments_csv_response(request.merchant, experiment)


class StorefrontAssignmentsAPI(StorefrontAPIView):
    """A visitor's variants of every running experiment, for shops that render on their side.
    Records the exposures (pass record=0 to only look)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("visitor_id", str, required=True),
            OpenApiParameter("record", str, description="0 to not record exposures"),
        ],
        responses=dict,
    )
    def get(self, request):
        visitor_id = request.query_params.get("visitor_id", "")
        record = request.query_params.get("record", "1") not in ("0", "false")
        try:
            items = services.visitor_assignments(
                merchant=request.merchant, visitor_id=visitor_id, record=record
            )
        except ValueError as exc:
            raise exceptions.ValidationError({"visitor_id": [str(exc)]}) from None
        return Response({"visitor_id": visitor_id, "assignments": items})
