"""Reads for placements, always scoped by merchant."""

from __future__ import annotations

import time

from django.db.models import QuerySet

from .models import Placement


def placements_list(merchant) -> QuerySet[Placement]:
    return Placement.objects.filter(merchant=merchant).order_by("key")


def placement_get(merchant, key: str) -> Placement:
    return Placement.objects.get(merchant=merchant, key=key)


def placement_get_by_id(merchant, placement_id: int) -> Placement:
    return Placement.objects.get(merchant=merchant, pk=placement_id)


# Per-process cache of placement rows for the storefront hot path. Dashboard edits show in the
# storefront within MERCHLAB_SERVING_CHECK_SECONDS (at once in the process that saved them).
_placement_cache: dict[tuple[int, str], tuple[float, Placement | None]] = {}


def placement_get_cached(merchant, key: str, *, refresh: bool = False) -> Placement | None:
    """The merchant's placement with this key, or None; served from memory for a few seconds."""
    from django.conf import settings

    ttl = float(getattr(settings, "MERCHLAB_SERVING_CHECK_SECONDS", 5.0))
    cache_key = (merchant.pk, key)
    now = time.monotonic()
    hit = _placement_cache.get(cache_key)
    if hit is not None and not refresh and now - hit[0] < ttl:
        return hit[1]
    placement = Placement.objects.filter(merchant=merchant, key=key).first()
    if len(_placement_cache) > 10_000:
        _placement_cache.clear()
    _placement_cache[cache_key] = (now, placement)
    return placement


def placement_cache_forget(merchant_id: int | None = None) -> None:
    for k in [k for k in _placement_cache if merchant_id is None or k[0] == merchant_id]:
        _placement_cache.pop(k, None)
