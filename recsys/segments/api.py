"""Merchant API of segments, visitor profiles, erasure and event retention."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.response import Response

from merchandising.accounts.api_base import MerchantAPIView
from merchandising.jobs.serializers import JobSerializer

from . import selectors, services
from .serializers import (
    PrivacySerializer,
    RuleSegmentSerializer,
    SegmentMergeSerializer,
    SegmentRenameSerializer,
    SegmentRunSerializer,
    SegmentSerializer,
    VisitorProfileSerializer,
)


class SegmentListAPI(MerchantAPIView):
    """Active segments (found and rule-based) and how the last clustering chose their number."""

    @extend_schema(
        operation_id="segments_list",
        responses=inline_serializer(
            "SegmentList",
            {
                "results": SegmentSerializer(many=True),
                "latest_run": SegmentRunSerializer(allow_null=True),
            },
        ),
    )
    def get(self, request):
        run = selectors.latest_run(request.merchant)
        return Response(
            {
                "results": SegmentSerializer(
                    selectors.segments_list(request.merchant), many=True
                ).data,
                "latest_run": SegmentRunSerializer(run).data if run else None,
            }
        )


class SegmentDiscoverAPI(MerchantAPIView):
    """Start a clustering job (also runs by itself after each recommender training)."""

    @extend_schema(
        request=None,
        responses={
            202: JobSerializer,
            200: OpenApiResponse(JobSerializer, description="The discovery already under way."),
        },
    )
    def post(self, request):
        job = services.segments_discover_submit(merchant=request.merchant, user=request.user)
        answer = status.HTTP_200_OK if job.reused else status.HTTP_202_ACCEPTED
        return Response(JobSerializer(job).data, status=answer)


class RuleSegmentAPI(MerchantAPIView):
    @extend_schema(request=RuleSegmentSerializer, responses={201: SegmentSerializer})
    def post(self, request):
        data = RuleSegmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.rule_segment_create(merchant=request.merchant, **data.validated_data)
        body = SegmentSerializer(segment).data
        if segment.size == 0:
            body["message"] = "This rule matches no visitor yet."
        return Response(body, status=status.HTTP_201_CREATED)


class SegmentDetailAPI(MerchantAPIView):
    @extend_schema(responses=SegmentSerializer)
    def get(self, request, segment_id: int):
        return Response(SegmentSerializer(selectors.segment_get(request.merchant, segment_id)).data)

    @extend_schema(request=SegmentRenameSerializer, responses=SegmentSerializer)
    def patch(self, request, segment_id: int):
        segment = selectors.segment_get(request.merchant, segment_id)
        data = SegmentRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(
            SegmentSerializer(services.segment_rename(segment=segment, **data.validated_data)).data
        )

    @extend_schema(responses=SegmentSerializer)
    def delete(self, request, segment_id: int):
        segment = selectors.segment_get(request.merchant, segment_id)
        return Response(SegmentSerializer(services.segment_archive(segment=segment)).data)


class SegmentMergeAPI(MerchantAPIView):
    @extend_schema(request=SegmentMergeSerializer, responses=SegmentSerializer)
    def post(self, request):
        data = SegmentMergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = services.segments_merge(merchant=request.merchant, **data.validated_data)
        return Response(SegmentSerializer(segment).data)


class VisitorAPI(MerchantAPIView):
    """A visitor's profile and segments; DELETE erases everything stored about them."""

    write_role = "owner"

    @extend_schema(responses=VisitorProfileSerializer)
    def get(self, request, visitor_id: str):
        profile = selectors.visitor_profile(request.merchant, visitor_id)
        if profile is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        segments = selectors.visitor_segments(request.merchant, visitor_id)
        return Response(VisitorProfileSerializer(profile, context={"segments": segments}).data)

    @extend_schema(responses={200: dict, 404: dict})
    def delete(self, request, visitor_id: str):
        result = services.visitor_erase(
            merchant=request.merchant, visitor_id=visitor_id, user=request.user, via="api"
        )
        # An unknown visitor is a no-op that says so (404: nothing by that id here).
        code = status.HTTP_200_OK if result["found"] else status.HTTP_404_NOT_FOUND
        return Response(result, status=code)


class PrivacyAPI(MerchantAPIView):
    """How long raw events are kept (null: until erased)."""

    write_role = "owner"

    @extend_schema(responses=PrivacySerializer)
    def get(self, request):
        setting = selectors.privacy_settings(request.merchant)
        return Response({"event_retention_days": setting.event_retention_days if setting else None})

    @extend_schema(request=PrivacySerializer, responses=PrivacySerializer)
    def put(self, request):
        data = PrivacySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        setting = services.privacy_settings_set(merchant=request.merchant, **data.validated_data)
        return Response({"event_retention_days": setting.event_retention_days})
