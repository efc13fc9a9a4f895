"""Storefront recommendations API: `GET /api/v1/storefront/recommendations`.

Query: `placement` (key, required), `visitor_id` (required, at most 200 characters), `sku` (the
product on screen, optional), `limit` (1-50, optional; the placement's limit otherwise).

Answer: `{"placement", "model_version", "request_id", "strategy", "items": [{"sku", "title",
"price", "currency", "image_url", "description", "score", "reason"}]}`. `model_version` is null
when the answer came from the placement's fallback (no model yet). `request_id` is echoed by the
widget on impressions and clicks (and by the shop on add-to-cart/purchase) so the per-placement
report can attribute them.

If the experiments app provides `experiments.services.placement_variant(merchant=, placement=,
visitor_id=)` (returning None or an object/dict with the placement settings to use, see
`_experiment_spec`), the visitor's variant of a running placement experiment decides the settings.
"""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from merchandising.accounts.api_base import StorefrontAPIView
from merchandising.catalog.selectors import live_copy_values
from recsys import serving

from . import selectors, services
from .api import visitor_id_param
from .models import MAX_LIMIT

DESCRIPTION_CHARS = 240


class RecommendationItemSerializer(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    image_url = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    score = serializers.FloatField()
    reason = serializers.CharField()


class RecommendationsSerializer(serializers.Serializer):
    placement = serializers.CharField()
    model_version = serializers.IntegerField(allow_null=True)
    request_id = serializers.CharField()
    strategy = serializers.CharField()
    variant = serializers.CharField(allow_null=True, required=False)
    items = RecommendationItemSerializer(many=True)


def _int_param(request, name: str, lo: int, hi: int) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: ["A whole number."]}) from None
    if not lo <= value <= hi:
        raise exceptions.ValidationError({name: [f"Between {lo} and {hi}."]})
    return value


def _experiment_spec(merchant, placement, visitor_id: str, spec: serving.PlacementSpec):
    """(spec, variant name) after the experiments hook, when the experiments app has one."""
    try:
        from merchandising.experiments import services as experiments
    except ImportError:
        return spec, None
    hook = getattr(experiments, "placement_variant", None)
    if hook is None:
        return spec, None
    variant = hook(merchant=merchant, placement=placement, visitor_id=visitor_id)
    if not variant:
        return spec, None
    get = variant.get if isinstance(variant, dict) else (lambda k, d=None: getattr(variant, k, d))
    overrides = get("settings") or get("config") or {}
    if overrides:
        fields = {
            "key": placement.key,
            "strategy": overrides.get("strategy", placement.strategy),
            "fallback_strategy": overrides.get("fallback_strategy", placement.fallback_strategy),
            "filters": overrides.get("filters", placement.filters),
            "rules": overrides.get("rules", placement.rules),
            "diversity": overrides.get("diversity", placement.diversity),
            "limit": overrides.get("limit", placement.limit),
            "fixed_skus": overrides.get("fixed_skus", placement.fixed_skus),
        }
        try:
            spec = serving.PlacementSpec.from_placement(_Fields(fields))
        except ValueError:
            pass  # a broken variant must not break the shop: serve the placement as saved
    name = get("variant") or get("name") or get("key")
    return spec, (str(name) if name is not None else None)


class _Fields:
    def __init__(self, data: dict) -> None:
        self.__dict__.update(data)


class RecommendationsAPI(StorefrontAPIView):
    """Recommended products for one placement and visitor."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "placement", str, required=True, description="Placement key, e.g. home"
            ),
            OpenApiParameter(
                "visitor_id", str, required=True, description="Pseudonymous visitor id"
            ),
            OpenApiParameter("sku", str, description="The product on screen (product page, cart)"),
            OpenApiParameter(
                "limit", int, description=f"1-{MAX_LIMIT}; the placement's limit by default"
            ),
        ],
        responses=RecommendationsSerializer,
    )
    def get(self, request):
        visitor_id = visitor_id_param(request, required=True)
        key = request.query_params.get("placement", "").strip()
        if not key:
            raise exceptions.ValidationError({"placement": ["This parameter is required."]})
        if len(key) > 60:
            raise exceptions.ValidationError({"placement": ["At most 60 characters."]})
        sku = request.query_params.get("sku", "").strip() or None
        if sku is not None and len(sku) > 64:
            raise exceptions.ValidationError({"sku": ["At most 64 characters."]})
        limit = _int_param(request, "limit", 1, MAX_LIMIT)
        placement = selectors.placement_get_cached(request.merchant, key)
        if placement is None and key in services.DEFAULT_KEYS:
            services.placements_create_defaults(merchant=request.merchant)
            placement = selectors.placement_get_cached(request.merchant, key, refresh=True)
        if placement is None or not placement.enabled:
            raise exceptions.NotFound(f"No placement {key!r}.")
        spec = serving.PlacementSpec.from_placement(placement)
        spec, variant = _experiment_spec(request.merchant, placement, visitor_id, spec)
        served = serving.recommend(
            merchant=request.merchant, spec=spec, visitor_id=visitor_id, sku=sku, limit=limit
        )
        copy = live_copy_values(request.merchant, [i.product_id for i in served.items])
        items = []
        for item in served.items:
            description = copy.get(item.product_id, {}).get("description") or ""
            if not isinstance(description, str):
                description = ""
            if len(description) > DESCRIPTION_CHARS:
                description = description[: DESCRIPTION_CHARS - 1].rstrip() + "…"
            items.append(
                {
                    "sku": item.sku,
                    "title": item.title,
                    "price": item.price,
                    "currency": item.currency,
                    "image_url": item.image_url,
                    "description": description,
                    "score": item.score,
                    "reason": item.reason,
                }
            )
        data = {
            "placement": served.placement,
            "model_version": served.model_version,
            "request_id": uuid.uuid4().hex,
            "strategy": served.strategy,
            "variant": variant,
            "items": items,
        }
        return Response(RecommendationsSerializer(data).data)
