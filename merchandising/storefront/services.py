"""Writes for placements. Keyword-only, transactional, validated with full_clean()."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction

from merchandising.accounts.models import ApiKey
from merchandising.accounts.services import api_key_create, merchant_update_origins

from .models import Placement
from .selectors import (
    DEMO_KEY_NAME,
    demo_key_cache_key,
    demo_storefront_key,
    placement_cache_forget,
    placement_report_forget,
)


def demo_storefront_setup(*, merchant, user, origin: str) -> str:
    """Make the demo storefront page work for every member (an owner's action, by POST): add
    this app's ``origin`` to the storefront origins (the widget posts events from it) and create
    the page's publishable key unless a live one exists. Returns the key."""
    if origin not in (merchant.storefront_origins or []):
        merchant_update_origins(merchant=merchant, origins=[*merchant.storefront_origins, origin])
    raw = demo_storefront_key(merchant)
    if raw is None:
        _, raw = api_key_create(
            merchant=merchant, name=DEMO_KEY_NAME, kind=ApiKey.Kind.PUBLISHABLE, created_by=user
        )
        demo_storefront_adopt_key(merchant=merchant, raw=raw)
    return raw


def demo_storefront_adopt_key(*, merchant, raw: str) -> None:
    """Let the demo storefront page embed this publishable key (the demo seed's own key)."""
    cache.set(demo_key_cache_key(merchant), raw, None)


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


def _report_forget(merchant_id: int) -> None:
    # Now, and again after commit: a report computed meanwhile from the old rows is not kept.
    placement_report_forget(merchant_id)
    transaction.on_commit(lambda: placement_report_forget(merchant_id))


@transaction.atomic
def placement_create(*, merchant, key: str, name: str, **fields: Any) -> Placement:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown placement fields: {sorted(unknown)}")
    placement = Placement(merchant=merchant, key=key, name=name, **fields)
    placement.full_clean()
    placement.save()
    placement_cache_forget(merchant.pk)
    _report_forget(merchant.pk)
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
    _report_forget(placement.merchant_id)
    return placement


@transaction.atomic
def placement_delete(*, placement: Placement) -> None:
    placement.delete()
    placement_cache_forget(placement.merchant_id)
    _report_forget(placement.merchant_id)


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
