"""Storefront API: what a shop's pages call with a publishable key."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from merchandising.accounts.api_base import StorefrontAPIView
from merchandising.catalog import selectors as catalog
from merchandising.catalog.models import COPY_FIELDS, Product

from .selectors import segment_copy_for_visitor
from .serializers import StorefrontProductSerializer

MAX_VISITOR_ID = 200


def visitor_id_param(request, *, required: bool = False) -> str | None:
    visitor_id = request.query_params.get("visitor_id", "").strip()
    if not visitor_id:
        if required:
            raise exceptions.ValidationError({"visitor_id": ["This parameter is required."]})
        return None
    if len(visitor_id) > MAX_VISITOR_ID:
        raise exceptions.ValidationError({"visitor_id": [f"At most {MAX_VISITOR_ID} characters."]})
    return visitor_id


def storefront_product(product: Product, live_copy: dict) -> dict:
    return {
        "sku": product.sku,
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": product.price,
        "currency": product.currency,
        "image_url": product.image_url,
        "in_stock": product.stock > 0,
        "attributes": product.attributes,
        "tags": product.tags,
        "copy": {f: live_copy[f] for f in COPY_FIELDS if f in live_copy},
    }


class StorefrontProductAPI(StorefrontAPIView):
    """A product's public fields and its live copy. Archived products are not found.

    With `visitor_id`, a field that has copy written for a segment the visitor belongs to shows
    that copy; every other visitor, and a request without `visitor_id`, gets the general copy."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "visitor_id",
                str,
                description="Pseudonymous visitor id (for segment copy and copy experiments)",
            )
        ],
        responses=StorefrontProductSerializer,
    )
    def get(self, request, sku: str):
        visitor_id = visitor_id_param(request)
        product = catalog.product_get(request.merchant, sku)
        if product.status != Product.Status.ACTIVE:
            raise exceptions.NotFound("Not found.")
        live = catalog.live_copy_values(request.merchant, [product.pk]).get(product.pk, {})
        live.update(
            segment_copy_for_visitor(request.merchant, [product.pk], visitor_id).get(product.pk, {})
        )
        data = storefront_product(product, live)
        for hook in PRODUCT_COPY_HOOKS:
            hook(request=request, product=product, visitor_id=visitor_id, data=data)
        return Response(StorefrontProductSerializer(data).data)


# Functions called as hook(request=, product=, visitor_id=, data=) that may replace fields of
# data["copy"] for this visitor (copy experiments, segment-targeted copy) and record exposures.
# They must only ever substitute copy that a reviewer approved.
PRODUCT_COPY_HOOKS: list = []
