"""Reads of tracking data, always scoped by merchant."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
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
    links = visitor_links(merchant)
    names = ("visitor_id", "sku", "ts", "type", "device", "country")
    columns: dict[str, list] = {name: [] for name in names}
    if connection.vendor != "postgresql":
        qs = Event.objects.filter(merchant=merchant).exclude(sku="").exclude(type="impression")
        if since is not None:
            qs = qs.filter(ts__gt=since)
        if until is not None:
            qs = qs.filter(ts__lte=until)
        for visitor, sku, ts, kind, device, country in qs.order_by("ts", "id").values_list(*names):
            for name, value in zip(
                names,
                (links.get(visitor, visitor), sku, ts.timestamp(), kind, device, country),
                strict=True,
            ):
                columns[name].append(value)
        return columns
    # PostgreSQL: raw SQL through a server-side cursor (chunked). At a million events, building
    # Django rows and datetime objects cost several times the query; the database hands out
    # epoch seconds.
    sql = (
        "SELECT visitor_id, sku, EXTRACT(EPOCH FROM ts)::float8, type, device, country "  # noqa: S608 (table name from the model)
        f"FROM {Event._meta.db_table} WHERE merchant_id = %s AND sku <> '' AND type <> %s"
    )
    params: list = [merchant.pk, "impression"]
    if since is not None:
        sql += " AND ts > %s"
        params.append(since)
    if until is not None:
        sql += " AND ts <= %s"
        params.append(until)
    sql += " ORDER BY ts, id"
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(20_000):
            for name, values in zip(names, zip(*rows, strict=True), strict=True):
                if name == "visitor_id" and links:
                    values = [links.get(v, v) for v in values]
                columns[name].extend(values)
    return columns


def events_exist(merchant) -> bool:
    """Has the storefront sent any event yet (is the widget or the events API wired up)?"""
    return Event.objects.filter(merchant=merchant).exists()


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
