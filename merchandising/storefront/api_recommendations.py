"""Storefront recommendations API: `GET /api/v1/storefront/recommendations`.

Query: `placement` (key, required), `visitor_id` (required, at most 200 characters), `sku` (the
product on screen, optional), `cart` (the cart's SKUs, comma-separated, optional: the anchors of
the `bought_together` strategy), `limit` (1-50, optional; the placement's limit otherwise).

Answer: `{"placement", "model_version", "request_id", "strategy", "items": [{"sku", "title",
"price", "currency", "image_url", "description", "score", "reason"}]}`. `model_version` is null
when the answer came from the placement's fallback (no model yet). `request_id` is echoed by the
widget on impressions and clicks (and by the shop on add-to-cart/purchase) so the per-placement
report can attribute them. A visitor in a segment that has its own approved description of an
item (see catalog.SegmentCopy) gets that description on the tile.

When the experiments app is installed, a running placement experiment decides the visitor's
settings (`_experiment_spec`), and the answer names the `variant`. Otherwise a placement that
targets shopper segments (`segment_strategies`) serves its members with their segment's strategy.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from types import SimpleNamespace

from django.apps import apps
from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from merchandising.accounts.api_base import StorefrontAPIView
from recsys import serving

from . import selectors, services
from .api import visitor_id_param
from .models import MAX_LIMIT


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


MAX_CART = 50


def _cart_param(request) -> list[str]:
    """`cart=SKU1,SKU2`: the products in the visitor's cart (anchors of bought_together)."""
    raw = request.query_params.get("cart", "")
    skus = [part.strip() for part in raw.split(",") if part.strip()]
    if len(skus) > MAX_CART:
        raise exceptions.ValidationError({"cart": [f"At most {MAX_CART} SKUs."]})
    if any(len(s) > 64 for s in skus):
        raise exceptions.ValidationError({"cart": ["Each SKU has at most 64 characters."]})
    return list(dict.fromkeys(skus))


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


_running_cache: dict[int, tuple[float, bool]] = {}


def _experiment_running(merchant, placement) -> bool:
    """Whether a placement experiment runs on this placement; remembered for a few seconds so
    that requests to placements without experiments cost no query."""
    from merchandising.experiments.models import Experiment

    ttl = float(getattr(settings, "MERCHLAB_SERVING_CHECK_SECONDS", 5.0))
    now = time.monotonic()
    hit = _running_cache.get(placement.pk)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    running = Experiment.objects.filter(
        merchant=merchant, placement=placement, status=Experiment.Status.RUNNING
    ).exists()
    if len(_running_cache) > 10_000:
        _running_cache.clear()
    _running_cache[placement.pk] = (now, running)
    return running


def _experiment_spec(merchant, placement, visitor_id: str, spec: serving.PlacementSpec):
    """(spec, variant name): a running placement experiment decides this visitor's settings.

    Uses `merchandising.experiments.services.exposure_record_and_variant` (which also records the
    visitor's first exposure) when the experiments app is installed; the variant's payload holds
    the placement settings it overrides, e.g. {"strategy": "popularity"}.
    """
    if not apps.is_installed("merchandising.experiments") or not _experiment_running(
        merchant, placement
    ):
        return spec, None
    from merchandising.experiments.services import exposure_record_and_variant

    variant = exposure_record_and_variant(
        merchant=merchant, visitor_id=visitor_id, placement=placement
    )
    if variant is None:
        return spec, None
    overrides = {k: v for k, v in (variant.payload or {}).items() if k in services.EDITABLE_FIELDS}
    if overrides:
        fields = {f: getattr(placement, f) for f in ("key", *services.EDITABLE_FIELDS)}
        fields.update(overrides)
        try:
            spec = serving.PlacementSpec.from_placement(SimpleNamespace(**fields))
        except ValueError:
            pass  # a broken variant must not break the shop: serve the placement as saved
    return spec, variant.name


def _segment_spec(merchant, placement, visitor_id: str, spec: serving.PlacementSpec):
    """The placement's strategy for this visitor's shopper segments (`segment_strategies`);
    costs a query only on placements that target segments. A running placement experiment
    decides instead (its variants are compared on the placement as saved)."""
    if not placement.segment_strategies:
        return spec
    strategy = placement.strategy_for(selectors.visitor_segment_keys(merchant, visitor_id))
    return spec if strategy == spec.strategy else dataclasses.replace(spec, strategy=strategy)


def _tile_text(segment_text, general: str) -> str:
    """A segment member's description on a widget tile, shortened like the general one."""
    if not isinstance(segment_text, str) or not segment_text:
        return general
    return serving.tile_description(segment_text)


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
                "cart",
                str,
                description=f"The cart's SKUs, comma-separated (at most {MAX_CART})",
            ),
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
        cart = _cart_param(request)
        limit = _int_param(request, "limit", 1, MAX_LIMIT)
        placement = selectors.placement_get_cached(request.merchant, key)
        if placement is None and key in services.DEFAULT_KEYS:
            services.placements_create_defaults(merchant=request.merchant)
            placement = selectors.placement_get_cached(request.merchant, key, refresh=True)
        if placement is None or not placement.enabled:
            raise exceptions.NotFound(f"No placement {key!r}.")
        spec = serving.PlacementSpec.from_placement(placement)
        spec, variant = _experiment_spec(request.merchant, placement, visitor_id, spec)
        if variant is None:
            spec = _segment_spec(request.merchant, placement, visitor_id, spec)
        served = serving.recommend(
            merchant=request.merchant,
            spec=spec,
            visitor_id=visitor_id,
            sku=sku,
            limit=limit,
            cart_skus=cart,
        )
        segment_copy = (
            selectors.segment_copy_for_visitor(
                request.merchant, [item.product_id for item in served.items], visitor_id
            )
            if served.items
            else {}
        )
        items = [
            {
                "sku": item.sku,
                "title": item.title,
                "price": f"{item.price:.2f}",
                "currency": item.currency,
                "image_url": item.image_url,
                "description": _tile_text(
                    segment_copy.get(item.product_id, {}).get("description"), item.description
                ),
                "score": item.score,
                "reason": item.reason,
            }
            for item in served.items
        ]
        data = {
            "placement": served.placement,
            "model_version": served.model_version,
            "request_id": uuid.uuid4().hex,
            "strategy": served.strategy,
            "variant": variant,
            "items": items,
        }
        # The dict already has the serializer's shape (documented by it for the schema); building
        # it directly keeps the hot path short.
        return Response(data)
