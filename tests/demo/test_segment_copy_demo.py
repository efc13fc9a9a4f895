"""The demo's copy for a shopper segment: after the simulated shoppers are clustered, the largest
found segment has description drafts waiting for review (demo-written, labelled so); once
approved, the merchant tests them against the general copy from "Copy test from drafts"."""

import pytest
from django.apps import apps
from django.utils.html import escape

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (apps.is_installed("contentgen.review") and apps.is_installed("recsys.segments")),
        reason="review or segments not installed",
    ),
]


@pytest.fixture
def demo(settings, tmp_path):
    from merchandising.demo.seed import seed_catalog, seed_merchant, seed_traffic

    settings.VAR_DIR = tmp_path
    settings.MERCHLAB_SERVING_CHECK_SECONDS = 0
    context = seed_merchant(say=lambda line: None)
    seed_catalog(context)
    seed_traffic(context)
    return context


def test_demo_merchant_reviews_segment_drafts_and_tests_them_against_the_general_copy(
    demo, client, api
):
    from contentgen.models import CopyDraft
    from contentgen.review.services import draft_approve
    from contentgen.services import DEMO_SEGMENT_MODEL
    from merchandising.catalog.models import LiveCopy
    from merchandising.demo.seed import STEPS
    from merchandising.experiments import services
    from merchandising.experiments.models import Experiment, Exposure
    from recsys.segments.models import Segment, SegmentMembership, SegmentRun

    step = dict(STEPS)["segment-copy"]
    step(demo)
    largest = (
        Segment.objects.filter(merchant=demo.merchant, is_active=True, kind="found")
        .order_by("-size", "pk")
        .first()
    )
    assert largest is not None and largest.name
    drafts = list(CopyDraft.objects.filter(merchant=demo.merchant).order_by("pk"))
    assert drafts, "no segment drafts to review"
    assert {d.segment for d in drafts} == {str(largest.pk)}
    assert {d.status for d in drafts} == {"pending"}
    assert {d.model_id for d in drafts} == {DEMO_SEGMENT_MODEL}

    step(demo)  # idempotent: no second clustering, no duplicate drafts
    assert SegmentRun.objects.filter(merchant=demo.merchant).count() == 1
    assert CopyDraft.objects.filter(merchant=demo.merchant).count() == len(drafts)

    draft = drafts[0]
    draft_approve(draft=draft, user=demo.owner)  # now the segment's copy
    client.force_login(demo.owner)
    base = f"/m/{demo.merchant.slug}/experiments/"
    page = client.get(base + "new/from-drafts/").content.decode()
    assert f'value="{draft.pk}"' in page
    assert escape(largest.name) in page
    response = client.post(
        base + "new/from-drafts/",
        {"key": "segment-vs-general", "name": "Segment copy", "drafts": [draft.pk]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    experiment = Experiment.objects.get(merchant=demo.merchant, key="segment-vs-general")
    assert experiment.segment == str(largest.pk)
    services.experiment_start(experiment=experiment)

    members = SegmentMembership.objects.filter(segment=largest).values_list("visitor_id", flat=True)
    member = members.order_by("visitor_id")[0]
    general = LiveCopy.objects.get(product_id=draft.product_id, field="description").value
    store = api.as_storefront(demo.keys["publishable"])

    def shown(visitor_id):
        url = f"/api/v1/storefront/products/{draft.sku}"
        return store.get(url, {"visitor_id": visitor_id}).json()["copy"]["description"]

    seen = shown(member)
    (exposure,) = Exposure.objects.filter(experiment=experiment)
    assert exposure.visitor_id == member
    assert seen == (general if exposure.variant.is_control else draft.text)
    assert shown("v-not-a-shopper") == general
    assert Exposure.objects.filter(experiment=experiment).count() == 1
