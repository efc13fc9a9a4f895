"""Reads for placements, always scoped by merchant."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from merchandising.accounts.keys import key_hash
from merchandising.accounts.models import ApiKey
from merchandising.cache import cache_version, computed_with_age
from merchandising.tracking.models import Event

from .models import Placement

DEMO_KEY_NAME = "Demo storefront page"


def demo_key_cache_key(merchant) -> str:
    return f"storefront-demo:key:{merchant.pk}"


def demo_storefront_key(merchant) -> str | None:
    """The publishable key the demo storefront page embeds, once an owner has set the page up
    (and while that key is not revoked); None before. Publishable keys are public (every shop
    page carries one), so its plain text may be kept in the shared cache for all members."""
    raw = cache.get(demo_key_cache_key(merchant))
    if not raw:
        return None
    live = ApiKey.objects.filter(
        merchant=merchant, key_hash=key_hash(raw), revoked_at__isnull=True
    ).exists()
    return raw if live else None


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


# --- reports -------------------------------------------------------------------------------------


_UNPLACED_SQL = """
SELECT slots.placement, e.sku, e.type, COUNT(*), SUM(e.value)
FROM {event} e
LEFT JOIN (
    SELECT request_id, MIN(placement) AS placement FROM {event}
    WHERE merchant_id = %s AND placement <> '' AND request_id IN (
        SELECT request_id FROM {event}
        WHERE merchant_id = %s AND ts >= %s AND request_id <> '' AND placement = ''
    )
    GROUP BY request_id
) slots ON slots.request_id = e.request_id
WHERE e.merchant_id = %s AND e.ts >= %s AND e.request_id <> '' AND e.placement = ''
GROUP BY slots.placement, e.sku, e.type
"""


def attributed_counts(merchant, *, days: int) -> list[dict]:
    """Events that carry a recommendation request id, counted (``n``, ``revenue``) per placement
    (``slot``), ``sku`` and ``type`` over the last ``days`` days. The placement is the event's
    own, or that of another event of the same request when the shop left it out. The placement
    report and its top products are both sums of these rows.

    Two aggregate queries: events that name their placement are grouped as they are; the others
    are joined to their requests' placements (looked up once per request, in any period). A
    sub-query per event row instead made PostgreSQL estimate a cost of tens of millions and
    spend half a second compiling the plan (JIT) on the demo's 100,000 impressions, even when no
    event lacked its placement."""
    since = timezone.now() - timedelta(days=days)
    merged: dict[tuple, dict] = {}
    placed = (
        Event.objects.filter(merchant=merchant, ts__gte=since)
        .exclude(request_id="")
        .exclude(placement="")
        .values("placement", "sku", "type")
        .annotate(n=Count("id"), revenue=Sum("value"))
    )
    for row in placed:
        merged[(row["placement"], row["sku"], row["type"])] = {
            "slot": row["placement"],
            "sku": row["sku"],
            "type": row["type"],
            "n": row["n"],
            "revenue": row["revenue"],
        }
    with connection.cursor() as cursor:
        cursor.execute(
            _UNPLACED_SQL.format(event=Event._meta.db_table),
            [merchant.pk, merchant.pk, since, merchant.pk, since],
        )
        unplaced = cursor.fetchall()
    for slot, sku, type_, n, revenue in unplaced:
        row = merged.setdefault(
            (slot, sku, type_), {"slot": slot, "sku": sku, "type": type_, "n": 0, "revenue": None}
        )
        row["n"] += n
        if revenue is not None:  # a float from SQLite's raw cursor, a Decimal from PostgreSQL's
            row["revenue"] = (row["revenue"] or 0) + Decimal(str(revenue))
    return list(merged.values())


def placement_report(merchant, *, days: int = 7, counts: list[dict] | None = None) -> list[dict]:
    """Per placement: impressions, clicks, CTR, add-to-cart, purchases and revenue attributed by
    request id over the last `days` days (or over ``counts``, from attributed_counts). Every
    placement is listed, with zeros when idle."""
    if counts is None:
        counts = attributed_counts(merchant, days=days)
    rows: dict[str, dict] = {}
    for p in placements_list(merchant):
        rows[p.key] = {"key": p.key, "name": p.name, "placement_id": p.pk}
    for r in counts:
        key = r["slot"] or "(unknown)"
        row = rows.setdefault(key, {"key": key, "name": "", "placement_id": None})
        row[r["type"]] = row.get(r["type"], 0) + r["n"]
        if r["type"] == "purchase":
            row["revenue"] = row.get("revenue", 0) + (r["revenue"] or 0)
    out = []
    for row in rows.values():
        impressions = row.get("impression", 0)
        clicks = row.get("click", 0)
        out.append(
            {
                **row,
                "impressions": impressions,
                "clicks": clicks,
                "ctr": (clicks / impressions) if impressions else None,
                "add_to_cart": row.get("add_to_cart", 0),
                "purchases": row.get("purchase", 0),
                "revenue": row.get("revenue", 0),
            }
        )
    return sorted(out, key=lambda r: (-r["impressions"], r["key"]))


def placement_top_items(
    merchant, *, days: int = 7, per_placement: int = 10, counts: list[dict] | None = None
) -> dict[str, list[dict]]:
    """Per placement, its most clicked products (then most shown) with impressions, clicks, CTR
    and purchases attributed by request id."""
    if counts is None:
        counts = attributed_counts(merchant, days=days)
    per: dict[str, dict[str, dict]] = {}
    for r in counts:
        if not r["sku"]:
            continue
        item = per.setdefault(r["slot"] or "(unknown)", {}).setdefault(
            r["sku"],
            {"sku": r["sku"], "impression": 0, "click": 0, "add_to_cart": 0, "purchase": 0},
        )
        if r["type"] in item:
            item[r["type"]] += r["n"]
    out: dict[str, list[dict]] = {}
    for slot, items in per.items():
        ranked = sorted(
            items.values(), key=lambda i: (-i["click"], -i["purchase"], -i["impression"], i["sku"])
        )
        for i in ranked:
            i["ctr"] = i["click"] / i["impression"] if i["impression"] else None
        out[slot] = ranked[:per_placement]
    return out


def _report_version_name(merchant_id: int) -> str:
    return f"placement-report:{merchant_id}"


def placement_report_forget(merchant_id: int) -> None:
    """Placements changed (added, renamed, removed): the next report page computes afresh."""
    cache_version(_report_version_name(merchant_id), bump=True)


def placement_report_figures(
    merchant, *, days: int = 7, per_placement: int = 10, refresh: bool = False
) -> dict:
    """The report page's figures (``report``: placement_report, ``top``: placement_top_items)
    and ``computed_at``, kept MERCHLAB_REPORT_CACHE_SECONDS. Counting a month of attributed
    events is the dashboard's most expensive read, and its figures move little in minutes; the
    page says when they were computed and offers to compute them now (``refresh``)."""

    def compute():
        counts = attributed_counts(merchant, days=days)
        return (
            placement_report(merchant, counts=counts),
            placement_top_items(merchant, per_placement=per_placement, counts=counts),
        )

    version = cache_version(_report_version_name(merchant.pk))
    (report, top), computed_at = computed_with_age(
        f"placement-report:{merchant.pk}:{version}:{days}:{per_placement}",
        compute,
        timeout=settings.MERCHLAB_REPORT_CACHE_SECONDS,
        refresh=refresh,
    )
    return {"report": report, "top": top, "computed_at": computed_at}


def visitor_segment_keys(merchant, visitor_id: str | None) -> list[str]:
    """The visitor's active segments (keys, in the order that decides between them), or [] when
    there is no visitor or the segments app is not installed."""
    from django.apps import apps

    if not visitor_id or not apps.is_installed("recsys.segments"):
        return []
    from recsys.segments.selectors import visitor_segment_keys as keys

    return keys(merchant, visitor_id)


def segment_copy_for_visitor(merchant, product_ids, visitor_id: str | None) -> dict[int, dict]:
    """product id -> {field: value} of segment copy this visitor should see instead of the
    general live copy: only copy written for a segment the visitor is a member of right now.

    Costs no query for a merchant without any segment copy (see merchant_has_segment_copy),
    one when none of these products has some, two otherwise."""
    from merchandising.catalog import selectors as catalog

    if not visitor_id or not merchant_has_segment_copy(merchant):
        return {}
    targeted = catalog.segment_copy_exists(merchant, product_ids)
    if not targeted:
        return {}
    mine = [k for k in visitor_segment_keys(merchant, visitor_id) if k in targeted]
    return catalog.segment_copy_values(merchant, product_ids, mine) if mine else {}


_segment_copy_cache: dict[int, tuple[float, bool]] = {}


def merchant_has_segment_copy(merchant) -> bool:
    """Whether the merchant has any segment copy at all; remembered for a few seconds so that
    recommendation requests of merchants without segment copy cost no query."""
    from django.conf import settings

    from merchandising.catalog.models import SegmentCopy

    ttl = float(getattr(settings, "MERCHLAB_SERVING_CHECK_SECONDS", 5.0))
    now = time.monotonic()
    hit = _segment_copy_cache.get(merchant.pk)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    found = SegmentCopy.objects.filter(merchant=merchant).exists()
    if len(_segment_copy_cache) > 10_000:
        _segment_copy_cache.clear()
    _segment_copy_cache[merchant.pk] = (now, found)
    return found
