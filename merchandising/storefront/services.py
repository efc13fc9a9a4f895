"""Writes for placements. Keyword-only, transactional, validated with full_clean()."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import Placement
from .selectors import placement_cache_forget

# The slots every shop starts with (issue 6): home "for you", product page "similar",
# cart "complete the order". Merchants edit them and add their own.
DEFAULT_PLACEMENTS: tuple[dict[str, Any], ...] = (
    {
        "key": "home",
        "name": "Home: for you",
        # Every model fused, or the best single one on the shop's hold-out.
        "strategy": Placement.Strategy.BLEND,
        "fallback_strategy": Placement.Fallback.POPULARITY,
        "filters": {"in_stock": True, "exclude_purchased": True},
        "diversity": {"max_per_category": 2, "category_level": 1},
        "limit": 8,
    },
    {
        "key": "product_similar",
        "name": "Product page: similar products",
        "strategy": Placement.Strategy.SIMILAR,
        "fallback_strategy": Placement.Fallback.POPULARITY,
        "filters": {"in_stock": True, "exclude_purchased": False},
        "diversity": {},
        "limit": 6,
    },
    {
        "key": "cart_complete",
        "name": "Cart: complete the order",
        # Products bought with the cart's; the hybrid fills in where they have no partners.
        "strategy": Placement.Strategy.BOUGHT_TOGETHER,
        "fallback_strategy": Placement.Fallback.POPULARITY,
        "filters": {"in_stock": True, "exclude_purchased": True, "exclude_anchor_category": True},
        "diversity": {"max_per_category": 1, "category_level": 1},
        "limit": 4,
    },
)

DEFAULT_KEYS = frozenset(spec["key"] for spec in DEFAULT_PLACEMENTS)

EDITABLE_FIELDS = (
    "name",
    "strategy",
    "fallback_strategy",
    "fixed_skus",
    "filters",
    "rules",
    "diversity",
    "limit",
    "segment_strategies",
    "enabled",
)


@transaction.atomic
def placement_create(*, merchant, key: str, name: str, **fields: Any) -> Placement:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown placement fields: {sorted(unknown)}")
    placement = Placement(merchant=merchant, key=key, name=name, **fields)
    placement.full_clean()
    placement.save()
    placement_cache_forget(merchant.pk)
    return placement


@transaction.atomic
def placement_update(*, placement: Placement, **fields: Any) -> Placement:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown placement fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(placement, name, value)
    placement.full_clean()
    placement.save()
    placement_cache_forget(placement.merchant_id)
    return placement


@transaction.atomic
def placement_delete(*, placement: Placement) -> None:
    placement.delete()
    placement_cache_forget(placement.merchant_id)


@transaction.atomic
def placements_create_defaults(*, merchant) -> list[Placement]:
    """Create the default placements a merchant lacks (safe to run again)."""
    existing = set(Placement.objects.filter(merchant=merchant).values_list("key", flat=True))
    created = []
    for spec in DEFAULT_PLACEMENTS:
        if spec["key"] in existing:
            continue
        fields = {k: v for k, v in spec.items() if k not in ("key", "name")}
        created.append(
            placement_create(merchant=merchant, key=spec["key"], name=spec["name"], **fields)
        )
    return created
