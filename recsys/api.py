"""Merchant API of the model registry: list versions, read one, activate one, roll back.

Secret key or dashboard session; reads for every member, activation and rollback for owners and
editors. Serving (``recsys.serving``) picks a newly activated version up within its check
interval, without a restart.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from merchandising.accounts.api_base import MerchantGenericAPIView
from recsys import selectors, services
from recsys.serializers import (
    ModelVersionDetailSerializer,
    ModelVersionRollbackSerializer,
    ModelVersionSerializer,
)

MAX_LIST = 100


class ModelVersionListAPI(MerchantGenericAPIView):
    """The merchant's recommender versions, newest first, with hold-out metrics and training time."""

    serializer_class = ModelVersionSerializer

    @extend_schema(
        operation_id="model_versions_list",
        parameters=[
            OpenApiParameter("limit", int, description=f"At most this many (1-{MAX_LIST}).")
        ],
        responses=ModelVersionSerializer(many=True),
    )
    def get(self, request):
        raw = request.query_params.get("limit") or str(MAX_LIST)
        limit = int(raw) if raw.isdecimal() and len(raw) < 6 else 0
        if not 1 <= limit <= MAX_LIST:
            raise exceptions.ValidationError({"limit": [f"A number from 1 to {MAX_LIST}."]})
        versions = selectors.model_versions(request.merchant).select_related("parent")
        return Response(ModelVersionSerializer(versions[:limit], many=True).data)


class ModelVersionDetailAPI(MerchantGenericAPIView):
    serializer_class = ModelVersionDetailSerializer

    @extend_schema(operation_id="model_versions_get", responses=ModelVersionDetailSerializer)
    def get(self, request, model_version_id: int):
        version = selectors.model_version_get(request.merchant, model_version_id)
        return Response(ModelVersionDetailSerializer(version).data)


class ModelVersionActivateAPI(MerchantGenericAPIView):
    """Make this version the one serving uses (any ready version: newer or older)."""

    serializer_class = ModelVersionDetailSerializer

    @extend_schema(
        operation_id="model_versions_activate", request=None, responses=ModelVersionSerializer
    )
    def post(self, request, model_version_id: int):
        version = selectors.model_version_get(request.merchant, model_version_id)
        try:
            version = services.model_version_activate(merchant=request.merchant, version=version)
        except ValueError as exc:
            raise exceptions.ValidationError({"status": [str(exc)]}) from exc
        return Response(ModelVersionSerializer(version).data)


class ModelVersionRollbackAPI(MerchantGenericAPIView):
    """Go back to an earlier version: ``to`` names it, or the newest ready one before the
    active version."""

    serializer_class = ModelVersionRollbackSerializer

    @extend_schema(operation_id="model_versions_rollback", responses=ModelVersionSerializer)
    def post(self, request):
        data = ModelVersionRollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            version = services.model_version_rollback(
                merchant=request.merchant, to_version_id=data.validated_data.get("to")
            )
        except ValueError as exc:
            raise exceptions.ValidationError({"to": [str(exc)]}) from exc
        return Response(ModelVersionSerializer(version).data)
