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


def _experiment(shop):
    from merchandising.experiments.models import Experiment
    from merchandising.experiments.services import experiment_create
    from merchandising.storefront.models import Placement
    from merchandising.storefront.services import placements_create_defaults

    existing = Experiment.objects.filter(merchant=shop.merchant).first()
    if existing:
        return existing.pk
    placements_create_defaults(merchant=shop.merchant)
    return experiment_create(
        merchant=shop.merchant,
        key=f"{shop.merchant.slug}-secret-test",
        name=f"{shop.merchant.slug} secret experiment",
        kind="placement",
        placement=Placement.objects.get(merchant=shop.merchant, key="home"),
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True, "payload": {}},
            {"name": "B", "weight": 0.5, "payload": {"strategy": "popularity"}},
        ],
    ).pk


def _placement(shop):
    from merchandising.storefront.models import Placement
    from merchandising.storefront.services import placements_create_defaults

    placements_create_defaults(merchant=shop.merchant)
    return Placement.objects.filter(merchant=shop.merchant).order_by("pk").first().pk


def _adapter(shop):
    from contentgen.finetuning.models import AdapterVersion

    existing = AdapterVersion.objects.filter(merchant=shop.merchant).first()
    if existing:
        return existing.pk
    return AdapterVersion.objects.create(
        merchant=shop.merchant, version=1, base_model=f"{shop.merchant.slug} secret base model"
    ).pk


EXTRA_FACTORIES.update(
    {
        "experiment_id": _experiment,
        # experiment actions: any action name; the experiment id decides the answer
        "action": lambda shop: "pause",
        "placement_id": _placement,
        "adapter_id": _adapter,
    }
)


def _model_version(shop):
    from recsys.models import ModelVersion

    existing = ModelVersion.objects.filter(merchant=shop.merchant).first()
    if existing:
        return existing.pk
    return ModelVersion.objects.create(
        merchant=shop.merchant,
        version=1,
        status=ModelVersion.Status.READY,
        counts={"events": 1},
        artifact_path=f"recsys/{shop.merchant.slug}-secret.npz",
    ).pk


EXTRA_FACTORIES["model_version_id"] = _model_version


def _past_copy(shop):
    """The shop's standing past copy (fine-tuning), naming its secret product."""
    import json

    from contentgen.finetuning import selectors, services

    if not selectors.past_copy_records(shop.merchant):
        line = {
            "product": {"sku": "PAST-1", "title": f"{shop.merchant.slug} secret product"},
            "kind": "seo_title",
            "text": f"{shop.merchant.slug} secret copy",
        }
        services.past_copy_upload(
            merchant=shop.merchant, content=json.dumps(line).encode(), filename="past.jsonl"
        )
    return selectors.past_copy_path(shop.merchant)


def _past_copy_snapshot(shop):
    from contentgen.finetuning import data, selectors

    return data.records_to_jsonl(selectors.past_copy_records(shop.merchant))


# no route takes it: it gives each shop past copy for the walk to find, and its snapshot
EXTRA_FACTORIES["past_copy"] = _past_copy
EXTRA_SNAPSHOTS = [_past_copy_snapshot]
