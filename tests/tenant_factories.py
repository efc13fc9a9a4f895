"""Object kinds of later areas for the tenant-isolation walk (tests/foundation/test_tenant_isolation.py).

Each entry: URL parameter name -> function(shop) giving the value for an object of that shop.
Areas add their own entries here (edit additively)."""

from __future__ import annotations


def _draft(shop):
    from contentgen.models import CopyDraft
    from tests.contentgen.review.drafts import make_draft

    existing = CopyDraft.objects.filter(merchant=shop.merchant).first()
    if existing:
        return existing.pk
    product = shop.merchant.products.first()
    if product is None:
        from merchandising.catalog.services import product_bulk_upsert

        product_bulk_upsert(
            merchant=shop.merchant,
            items=[
                {
                    "sku": f"{shop.merchant.slug.upper()}-SECRET",
                    "title": f"{shop.merchant.slug} secret product",
                    "price": "10",
                    "copy": {"description": f"{shop.merchant.slug} secret copy"},
                }
            ],
        )
        product = shop.merchant.products.first()
    return make_draft(product, "seo_title", f"{shop.merchant.slug} secret product title").pk


def _segment(shop):
    from recsys.segments.models import Segment, SegmentMembership

    segment = Segment.objects.filter(merchant=shop.merchant).first()
    if segment is None:
        segment = Segment.objects.create(
            merchant=shop.merchant,
            kind="rule",
            name=f"{shop.merchant.slug} secret segment",
            rule={"match": "all", "conditions": [{"field": "country", "op": "eq", "value": "DE"}]},
            size=1,
        )
        SegmentMembership.objects.create(
            merchant=shop.merchant, segment=segment, visitor_id=_visitor(shop)
        )
    return segment.pk


def _visitor(shop):
    from django.utils import timezone

    from merchandising.tracking.models import Event
    from recsys.segments.models import VisitorProfile

    visitor_id = f"{shop.merchant.slug}-visitor-1"
    now = timezone.now()
    Event.objects.get_or_create(
        merchant=shop.merchant,
        event_id=f"{shop.merchant.slug}-ev-1",
        defaults={"type": "view", "visitor_id": visitor_id, "sku": "X", "ts": now},
    )
    VisitorProfile.objects.get_or_create(
        merchant=shop.merchant,
        visitor_id=visitor_id,
        defaults={"first_seen": now, "last_seen": now, "country": "DE", "views": 1},
    )
    return visitor_id


EXTRA_FACTORIES = {
    "draft_id": _draft,
    "segment_id": _segment,
    "visitor_id": _visitor,
}
