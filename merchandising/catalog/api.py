"""Merchant REST API for the catalog."""

from __future__ import annotations

import io

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from merchandising.accounts.api_base import MerchantGenericAPIView
from merchandising.jobs.serializers import JobSerializer
from merchandising.pagination import CheckedCursorPagination

from . import selectors, services, services_platforms
from .serializers import (
    BulkUpsertSerializer,
    CopyRevisionSerializer,
    ImportSerializer,
    ProductSerializer,
    ProductUpdateSerializer,
    ProductWriteSerializer,
)


class ProductCursor(CheckedCursorPagination):
    ordering = "sku"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 500


FILTERS = [
    OpenApiParameter("q", str, description="Search SKU, title and brand"),
    OpenApiParameter("category", str, description="Category path; includes sub-categories"),
    OpenApiParameter("brand", str),
    OpenApiParameter("status", str, enum=["active", "archived"]),
    OpenApiParameter("stock", str, enum=["in", "out"]),
]


def _filters(request) -> dict:
    p = request.query_params
    return {k: p.get(k, "")[:300] for k in ("q", "category", "brand", "status", "stock")}


class ProductListAPI(MerchantGenericAPIView):
    serializer_class = ProductSerializer
    pagination_class = ProductCursor

    @extend_schema(parameters=FILTERS, responses=ProductSerializer(many=True))
    def get(self, request):
        qs = selectors.products_list(request.merchant, **_filters(request))
        page = self.paginate_queryset(qs)
        # The page's live copy in one flat query: prefetch_related would build a queryset and
        # model instances for every product, a good part of the time of a 100-product page.
        copy = selectors.live_copy_by_product(request.merchant, [p.pk for p in page])
        for product in page:
            product._live_copy = copy.get(product.pk, {})
        return self.get_paginated_response(ProductSerializer(page, many=True).data)

    @extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer})
    def post(self, request):
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(
            merchant=request.merchant, data=data.validated_data, user=_user(request)
        )
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailAPI(MerchantGenericAPIView):
    serializer_class = ProductSerializer

    def get(self, request, sku: str):
        return Response(ProductSerializer(selectors.product_get(request.merchant, sku)).data)

    @extend_schema(request=ProductUpdateSerializer, responses=ProductSerializer)
    def patch(self, request, sku: str):
        product = selectors.product_get(request.merchant, sku)
        data = ProductUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_update(
            product=product, data=data.validated_data, user=_user(request)
        )
        return Response(ProductSerializer(product).data)


class ProductArchiveAPI(MerchantGenericAPIView):
    serializer_class = ProductSerializer

    @extend_schema(request=None, responses=ProductSerializer)
    def post(self, request, sku: str):
        product = services.product_archive(product=selectors.product_get(request.merchant, sku))
        return Response(ProductSerializer(product).data)


class ProductHistoryAPI(MerchantGenericAPIView):
    """Every value each live copy field has had, newest first."""

    serializer_class = CopyRevisionSerializer

    @extend_schema(
        parameters=[OpenApiParameter("field", str)], responses=CopyRevisionSerializer(many=True)
    )
    def get(self, request, sku: str):
        product = selectors.product_get(request.merchant, sku)
        history = selectors.copy_history(product, request.query_params.get("field") or None)[:500]
        return Response(CopyRevisionSerializer(history, many=True).data)


class ProductBulkAPI(MerchantGenericAPIView):
    """Upsert up to 5,000 products by SKU; all or nothing. Errors name the item index and field."""

    serializer_class = BulkUpsertSerializer

    @extend_schema(request=BulkUpsertSerializer, responses={200: dict})
    def post(self, request):
        data = BulkUpsertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data["products"]
        skus = [i["sku"] for i in items]
        dupes = (
            sorted({s for s in skus if skus.count(s) > 1}) if len(skus) != len(set(skus)) else []
        )
        if dupes:
            return Response(
                {
                    "detail": f"products: SKU {dupes[0]!r} appears more than once",
                    "errors": {"products": [f"Duplicate SKUs: {', '.join(dupes[:20])}"]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            services.product_bulk_upsert(
                merchant=request.merchant, items=items, user=_user(request)
            )
        )


class FileFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the file layout on export endpoints, not DRF's renderer."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProductExportAPI(MerchantGenericAPIView):
    """The catalog as importable CSV (cells that a spreadsheet would run as formulas are neutralised)."""

    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        parameters=[
            *FILTERS,
            OpenApiParameter(
                "format",
                str,
                enum=["merchlab", "shopify", "woocommerce"],
                description="shopify/woocommerce: the live copy of the products imported from "
                "that platform, in its CSV layout, to update the copy there",
            ),
        ],
        responses={(200, "text/csv"): str},
    )
    def get(self, request):
        out = io.StringIO()
        qs = selectors.products_list(request.merchant, **_filters(request))
        file_format = request.query_params.get("format") or "merchlab"
        if file_format not in ("merchlab", "shopify", "woocommerce"):
            return Response(
                {
                    "detail": "format: not one of merchlab, shopify, woocommerce",
                    "errors": {"format": ["Use merchlab, shopify or woocommerce."]},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        if file_format == "merchlab":
            services.product_export_csv(merchant=request.merchant, out=out, queryset=qs)
        else:
            services_platforms.product_export_platform(
                merchant=request.merchant, format=file_format, out=out, queryset=qs
            )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        suffix = "catalog" if file_format == "merchlab" else file_format
        response["Content-Disposition"] = (
            f'attachment; filename="{request.merchant.slug}-{suffix}.csv"'
        )
        return response


class ImportAPI(MerchantGenericAPIView):
    """Upload a catalog CSV; answers 202 with the import job to poll at /api/v1/jobs/{id}."""

    serializer_class = ImportSerializer

    @extend_schema(
        request={"multipart/form-data": ImportSerializer}, responses={202: JobSerializer}
    )
    def post(self, request):
        data = ImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > settings.CATALOG_IMPORT_MAX_BYTES:
            return Response(
                {
                    "detail": "file: too large",
                    "errors": {
                        "file": [f"The limit is {settings.CATALOG_IMPORT_MAX_BYTES // 2**20} MB."]
                    },
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        content = upload.read()
        file_format = data.validated_data["format"]
        if file_format == "auto":
            file_format = services_platforms.import_format_detect(content)
        job = services.product_import_submit(
            merchant=request.merchant,
            data=content,
            filename=upload.name,
            encoding=data.validated_data["encoding"],
            partial=data.validated_data["partial"],
            user=_user(request),
            format=file_format,
        )
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


def _user(request):
    return request.user if getattr(request.user, "pk", None) else None
