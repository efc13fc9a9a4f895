from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from merchandising.accounts.api_base import MerchantGenericAPIView
from merchandising.pagination import CheckedCursorPagination

from . import selectors, services
from .serializers import JobSerializer


class JobCursor(CheckedCursorPagination):
    ordering = "-created_at"
    page_size = 50


class JobListAPI(MerchantGenericAPIView):
    """Jobs of this merchant, newest first; filter with ?kind=."""

    serializer_class = JobSerializer
    pagination_class = JobCursor

    @extend_schema(operation_id="jobs_list", responses=JobSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(
            selectors.jobs_list(request.merchant, kind=request.query_params.get("kind"))
        )
        return self.get_paginated_response(JobSerializer(page, many=True).data)


class JobDetailAPI(MerchantGenericAPIView):
    serializer_class = JobSerializer

    @extend_schema(operation_id="jobs_retrieve")
    def get(self, request, job_id: int):
        return Response(JobSerializer(selectors.job_get(request.merchant, job_id)).data)


class JobCancelAPI(MerchantGenericAPIView):
    serializer_class = JobSerializer

    def post(self, request, job_id: int):
        return Response(
            JobSerializer(services.job_cancel(merchant=request.merchant, job_id=job_id)).data
        )
