"""Merchant API of fine-tuning: training data, start a run, the adapter registry, activate, roll back."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from contentgen.finetuning import selectors, services
from contentgen.finetuning.serializers import (
    ActivationSerializer,
    AdapterSerializer,
    FinetuneStartSerializer,
    PastCopySerializer,
    PastCopyUploadSerializer,
    RollbackSerializer,
)
from merchandising.accounts.api_base import MerchantGenericAPIView
from merchandising.parsers import CheckedJSONParser


def _user(request):
    return request.user if getattr(request.user, "pk", None) else None


class TrainingDataAPI(MerchantGenericAPIView):
    """How many approved/edited texts per kind can train an adapter, and whether that is enough."""

    @extend_schema(operation_id="finetune_data", responses=dict)
    def get(self, request):
        return Response(selectors.training_data_summary(request.merchant))


class AdaptersAPI(MerchantGenericAPIView):
    """GET: the merchant's adapter registry, newest first. POST: start a fine-tune (202)."""

    serializer_class = FinetuneStartSerializer
    parser_classes = [CheckedJSONParser, MultiPartParser, FormParser]

    @extend_schema(operation_id="adapters_list", responses=AdapterSerializer(many=True))
    def get(self, request):
        return Response(
            AdapterSerializer(selectors.adapter_list(request.merchant)[:100], many=True).data
        )

    @extend_schema(operation_id="adapters_create", responses={202: AdapterSerializer})
    def post(self, request):
        data = FinetuneStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upload = v.get("file")
        adapter = services.finetune_start(
            merchant=request.merchant,
            user=_user(request),
            training_settings=v.get("settings") or {},
            model=v.get("model") or None,
            eval_fraction=v["eval_fraction"],
            auto_activate=v["auto_activate"],
            upload=upload.read() if upload else None,
            upload_name=upload.name if upload else "",
        )
        return Response(AdapterSerializer(adapter).data, status=status.HTTP_202_ACCEPTED)


class AdapterDetailAPI(MerchantGenericAPIView):
    @extend_schema(operation_id="adapters_get", responses=AdapterSerializer)
    def get(self, request, adapter_id: int):
        return Response(AdapterSerializer(selectors.adapter_get(request.merchant, adapter_id)).data)


class AdapterActivateAPI(MerchantGenericAPIView):
    """Make this adapter the one generation uses."""

    @extend_schema(operation_id="adapters_activate", request=None, responses=AdapterSerializer)
    def post(self, request, adapter_id: int):
        adapter = services.adapter_activate(
            merchant=request.merchant, adapter_id=adapter_id, user=_user(request)
        )
        return Response(AdapterSerializer(adapter).data)


class AdapterRollbackAPI(MerchantGenericAPIView):
    """Go back to an earlier adapter (``to``) or to the base model (``to`` null or absent)."""

    serializer_class = RollbackSerializer

    @extend_schema(operation_id="adapters_rollback", responses=dict)
    def post(self, request):
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        adapter = services.adapter_rollback(
            merchant=request.merchant,
            user=_user(request),
            to_adapter_id=data.validated_data.get("to"),
        )
        return Response({"active": AdapterSerializer(adapter).data if adapter else None})


class ActiveAdapterAPI(MerchantGenericAPIView):
    """The adapter generation uses now (null: the base model) and the activation history."""

    @extend_schema(operation_id="adapters_active", responses=dict)
    def get(self, request):
        adapter = selectors.active_adapter(request.merchant)
        return Response(
            {
                "active": AdapterSerializer(adapter).data if adapter else None,
                "history": ActivationSerializer(
                    selectors.activation_history(request.merchant), many=True
                ).data,
            }
        )


class PastCopyAPI(MerchantGenericAPIView):
    """The merchant's standing past copy (training data it owns, used by every later run).

    GET: what is kept (per kind) and what was left out of the upload and why (``uploaded``
    false when there is none). POST (multipart ``file``, optional ``partial``): replace it with a new JSONL or CSV;
    a file with a bad line is refused whole (400 naming the line and field) unless ``partial``.
    DELETE: remove it.
    """

    serializer_class = PastCopyUploadSerializer
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(operation_id="past_copy_get", responses={200: PastCopySerializer})
    def get(self, request):
        current = selectors.past_copy_status(request.merchant) or selectors.past_copy_empty()
        return Response(PastCopySerializer(current).data)

    @extend_schema(
        operation_id="past_copy_upload",
        request={"multipart/form-data": PastCopyUploadSerializer},
        responses={201: PastCopySerializer},
    )
    def post(self, request):
        data = PastCopyUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        services.past_copy_replace(
            merchant=request.merchant,
            content=upload.read(),
            filename=upload.name,
            partial=data.validated_data["partial"],
            user=_user(request),
        )
        return Response(
            PastCopySerializer(selectors.past_copy_status(request.merchant)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(operation_id="past_copy_delete", responses={204: None})
    def delete(self, request):
        services.past_copy_remove(merchant=request.merchant)
        return Response(status=status.HTTP_204_NO_CONTENT)
