"""Reads of tracking data, always scoped by merchant."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, Min

from .models import Event, VisitorLink


def visitor_links(merchant) -> dict[str, str]:
    """anonymous id -> signed-in visitor id."""
    return dict(
        VisitorLink.objects.filter(merchant=merchant).values_list("anonymous_id", "visitor_id")
    )


def events_for_training(
    merchant, *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, list]:
    """Columns of the merchant's product events (impressions left out), oldest first.

    Anonymous visitor ids that were linked to a signed-in id are replaced by that id, so
    the visitor's history before signing in counts for their profile.
    """
    qs = Event.objects.filter(merchant=merchant).exclude(sku="").exclude(type="impression")
    if since is not None:
        qs = qs.filter(ts__gt=since)
    if until is not None:
        qs = qs.filter(ts__lte=until)
    links = visitor_links(merchant)
    columns: dict[str, list] = {
        k: [] for k in ("visitor_id", "sku", "ts", "type", "device", "country")
    }
    rows = qs.order_by("ts", "id").values_list(
        "visitor_id", "sku", "ts", "type", "device", "country"
    )
    for visitor, sku, ts, kind, device, country in rows.iterator(chunk_size=20000):
        columns["visitor_id"].append(links.get(visitor, visitor))
        columns["sku"].append(sku)
        columns["ts"].append(ts.timestamp())
        columns["type"].append(kind)
        columns["device"].append(device)
        columns["country"].append(country)
    return columns


def event_summary(merchant) -> dict:
    """Counts per type, visitors, time range: what the dashboard and training messages show."""
    qs = Event.objects.filter(merchant=merchant)
    by_type = dict(qs.values_list("type").annotate(n=Count("id")).order_by())
    span = qs.aggregate(first=Min("ts"), last=Max("ts"))
    return {
        "by_type": by_type,
        "total": sum(by_type.values()),
        "unknown_sku_events": qs.exclude(sku="").filter(product__isnull=True).count(),
        "first": span["first"],
        "last": span["last"],
    }
