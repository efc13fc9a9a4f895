from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from contentgen import selectors, services
from contentgen.serializers import BrandVoiceSerializer, GenerationRequestSerializer
from merchandising.accounts.api_base import MerchantGenericAPIView
from merchandising.jobs.serializers import JobSerializer


class GenerationJobsAPI(MerchantGenericAPIView):
    """POST: queue copy generation for products (by SKUs, a category, or all) -> 202 with the job.
    GET: this merchant's generation jobs, newest first."""

    serializer_class = GenerationRequestSerializer

    @extend_schema(operation_id="generation_jobs_list", responses=JobSerializer(many=True))
    def get(self, request):
        jobs = selectors.generation_jobs(request.merchant)[:50]
        return Response(JobSerializer(jobs, many=True).data)

    @extend_schema(
        operation_id="generation_jobs_create",
        responses={
            202: JobSerializer,
            200: OpenApiResponse(JobSerializer, description="The same request, still unfinished."),
        },
    )
    def post(self, request):
        data = GenerationRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        job = services.generation_request(
            merchant=request.merchant,
            kinds=v["kinds"],
            skus=v.get("skus"),
            category=v.get("category", ""),
            all_products=v.get("all", False),
            variants=v.get("variants"),
            segment=v.get("segment", ""),
            user=request.user if getattr(request.user, "pk", None) else None,
        )
        answer = status.HTTP_200_OK if job.reused else status.HTTP_202_ACCEPTED
        return Response(JobSerializer(job).data, status=answer)


class BrandVoiceAPI(MerchantGenericAPIView):
    """The merchant's brand voice; PUT/PATCH change it (editors and owners)."""

    serializer_class = BrandVoiceSerializer

    def get(self, request):
        return Response(BrandVoiceSerializer(selectors.brand_voice_for(request.merchant)).data)

    def put(self, request):
        data = BrandVoiceSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        voice = services.brand_voice_update(
            merchant=request.merchant,
            data=data.validated_data,
            user=request.user if getattr(request.user, "pk", None) else None,
        )
        return Response(BrandVoiceSerializer(voice).data)

    patch = put
