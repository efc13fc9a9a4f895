"""A copy test for one shopper segment: drafts written for a segment against the general copy,
among that segment's members only. Non-members keep the normal copy and are not in the test;
shipping the winner makes it the segment's copy and leaves the general copy alone."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from merchandising.experiments import services
from merchandising.experiments.models import Experiment, Exposure

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (apps.is_installed("contentgen.review") and apps.is_installed("recsys.segments")),
        reason="review or segments not installed",
    ),
]

GENERAL = "A copper saucepan, number 0."
SEGMENT_TEXT = "Picked for value-conscious home cooks. A copper saucepan that lasts for years."
MEMBERS = [f"v-member-{i}" for i in range(40)]
STRANGERS = [f"v-stranger-{i}" for i in range(20)]


@pytest.fixture(autouse=True)
def _fresh_serving(settings):
    from recsys import serving

    settings.MERCHLAB_SERVING_CHECK_SECONDS = 0
    serving.reset()
    yield
    serving.reset()


def _segment(merchant, name, members):
    from recsys.segments.models import Segment, SegmentMembership

    segment = Segment.objects.create(
        merchant=merchant, kind=Segment.Kind.FOUND, name=name, size=len(members), card={}
    )
    SegmentMembership.objects.bulk_create(
        [SegmentMembership(merchant=merchant, segment=segment, visitor_id=v) for v in members]
    )
    return segment


@pytest.fixture
def bargain(shop):
    return _segment(shop.merchant, "Budget kitchen buyers", MEMBERS)


def _draft(product, text, segment="", status="pending"):
    from contentgen.models import CopyDraft

    return CopyDraft.objects.create(
        merchant=product.merchant, product=product, sku=product.sku, kind="description",
        field="description", variant=0, text=text, status=status, passed=True,
        segment=str(segment.pk) if segment else "",
    )  # fmt: skip


def _segment_test(shop, product, segment, key="seg-desc"):
    from contentgen.review.experiment_arms import drafts_approve_as_experiment

    draft = _draft(product, SEGMENT_TEXT, segment)
    experiment = drafts_approve_as_experiment(
        merchant=shop.merchant, draft_ids=[draft.pk], user=shop.reviewer, key=key,
        name="Segment copy vs general copy",
    )  # fmt: skip
    return experiment, draft


def _served(api, shop, sku, visitor_id):
    response = api.as_storefront(shop.publishable_key).get(
        f"/api/v1/storefront/products/{sku}", {"visitor_id": visitor_id}
    )
    assert response.status_code == 200, response.content
    return response.json()["copy"]["description"]


def test_only_the_segments_members_are_in_the_test(api, shop, products, bargain):
    from merchandising.catalog.services import live_copy_publish
    from merchandising.experiments.selectors import experiment_report

    # the segment already has copy of its own: the control still shows the general copy
    live_copy_publish(
        product=products[0], field="description", value="Older copy for budget buyers.",
        source="original", segment=str(bargain.pk),
    )  # fmt: skip
    experiment, draft = _segment_test(shop, products[0], bargain)
    assert experiment.segment == str(bargain.pk)
    control, treatment = experiment.variants.order_by("position")
    assert control.is_control and control.payload["copy"] == {}
    services.experiment_start(experiment=experiment)
    sku = products[0].sku

    seen = {vid: _served(api, shop, sku, vid) for vid in MEMBERS}
    exposures = dict(
        Exposure.objects.filter(experiment=experiment).values_list("visitor_id", "variant__name")
    )
    assert set(exposures) == set(MEMBERS)  # every member is in the test
    for vid, text in seen.items():
        assert text == (SEGMENT_TEXT if exposures[vid] == treatment.name else GENERAL)
    assert SEGMENT_TEXT in seen.values() and GENERAL in seen.values()

    for vid in STRANGERS:
        assert _served(api, shop, sku, vid) == GENERAL
    assert not Exposure.objects.filter(experiment=experiment, visitor_id__in=STRANGERS).exists()
    assert Exposure.objects.filter(experiment=experiment).count() == len(MEMBERS)

    report = experiment_report(shop.merchant, experiment)
    assert report["segment"] == "Budget kitchen buyers"
    (row,) = [s for s in report["segments"] if s["segment_id"] == bargain.pk]
    assert row["units"] == len(MEMBERS)
    body = api.as_key(shop.secret_key).get(f"/api/v1/experiments/{experiment.pk}/results").json()
    assert body["segment"] == "Budget kitchen buyers"


def test_visitor_assignments_leave_out_a_segment_test_for_non_members(shop, products, bargain):
    experiment, _ = _segment_test(shop, products[0], bargain)
    services.experiment_start(experiment=experiment)
    assert services.visitor_assignments(merchant=shop.merchant, visitor_id="v-stranger-1") == []
    (item,) = services.visitor_assignments(merchant=shop.merchant, visitor_id="v-member-1")
    assert item["segment"] == str(bargain.pk) and item["experiment"] == experiment.key
    assert Exposure.objects.filter(experiment=experiment).count() == 1


def test_shipping_a_segment_test_makes_the_winner_the_segments_copy_only(
    api, shop, products, bargain
):
    from contentgen.review.models import ReviewDecision
    from merchandising.catalog.models import LiveCopy, SegmentCopy

    experiment, draft = _segment_test(shop, products[0], bargain)
    services.experiment_start(experiment=experiment)
    services.experiment_ship(experiment=experiment, variant_name="B", user=shop.owner)

    product = products[0]
    assert LiveCopy.objects.get(product=product, field="description").value == GENERAL
    segment_copy = SegmentCopy.objects.get(product=product, field="description")
    assert segment_copy.segment == str(bargain.pk) and segment_copy.value == SEGMENT_TEXT
    shipped = ReviewDecision.objects.get(experiment=experiment, action="approve")
    assert shipped.draft_id == draft.pk and shipped.segment == str(bargain.pk)
    assert shipped.after == SEGMENT_TEXT and shipped.revision is not None
    assert _served(api, shop, product.sku, "v-member-3") == SEGMENT_TEXT
    assert _served(api, shop, product.sku, "v-stranger-3") == GENERAL


def test_drafts_of_different_segments_cannot_share_a_test(shop, products, bargain):
    from contentgen.models import CopyDraft
    from contentgen.review.experiment_arms import drafts_approve_as_experiment

    fans = _segment(shop.merchant, "Premium repeat buyers", ["v-fan"])
    mine = _draft(products[0], SEGMENT_TEXT, bargain)
    theirs = _draft(products[1], "For people who buy the best.", fans)
    general = _draft(products[2], "A sturdy copper saucepan.")
    for ids in ([mine.pk, theirs.pk], [mine.pk, general.pk]):
        with pytest.raises(ValidationError, match="different segments"):
            drafts_approve_as_experiment(
                merchant=shop.merchant, draft_ids=ids, user=shop.reviewer, key="mixed", name="Mixed"
            )
    assert not Experiment.objects.filter(merchant=shop.merchant).exists()
    assert set(CopyDraft.objects.values_list("status", flat=True)) == {"pending"}
    for d in (mine, theirs):
        CopyDraft.objects.filter(pk=d.pk).update(status="approved")
        d.status = "approved"
    with pytest.raises(ValidationError, match="same shoppers"):
        services.experiment_create_from_drafts(
            merchant=shop.merchant, key="mixed", name="Mixed", drafts=[mine, theirs]
        )


def test_a_segment_test_does_not_start_beside_another_test_of_the_field(shop, products, bargain):
    general_test = services.experiment_create(
        merchant=shop.merchant, key="general", name="General", kind="copy", field="description",
        products=[products[0]],
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True},
            {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "Other text."}}},
        ],
    )  # fmt: skip
    services.experiment_start(experiment=general_test)
    experiment, _ = _segment_test(shop, products[0], bargain)
    with pytest.raises(ValidationError, match="'general' is already running"):
        services.experiment_start(experiment=experiment)


def test_one_segment_draft_tested_from_the_review_queue(client, shop, products, bargain):
    from django.urls import reverse

    from contentgen.review.models import ReviewDecision
    from merchandising.catalog.models import SegmentCopy

    draft = _draft(products[0], SEGMENT_TEXT, bargain)
    client.force_login(shop.reviewer)
    queue = client.get(reverse("dashboard:review", args=[shop.merchant.slug])).content.decode()
    assert f"{draft.pk}/experiment/" in queue
    response = client.post(
        reverse("dashboard:review-experiment", args=[shop.merchant.slug, draft.pk]), follow=True
    )
    assert response.status_code == 200
    decision = ReviewDecision.objects.get(draft=draft)
    assert decision.action == "experiment" and decision.segment == str(bargain.pk)
    assert decision.experiment.segment == str(bargain.pk)
    assert not SegmentCopy.objects.exists()  # nothing published until the winner is shipped


def test_dashboard_creates_a_segment_test_from_segment_drafts(client, shop, products, bargain):
    draft = _draft(products[0], SEGMENT_TEXT, bargain)
    base = f"/m/{shop.merchant.slug}/experiments/"
    client.force_login(shop.owner)
    page = client.get(base + "new/from-drafts/").content.decode()
    assert f'value="{draft.pk}"' in page and "Budget kitchen buyers" in page
    response = client.post(
        base + "new/from-drafts/", {"key": "seg-dash", "name": "Budget copy", "drafts": [draft.pk]}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    experiment = Experiment.objects.get(merchant=shop.merchant, key="seg-dash")
    assert experiment.segment == str(bargain.pk)
    page = client.get(f"{base}{experiment.pk}/").content.decode()
    assert "for shopper segment <strong>Budget kitchen buyers</strong> only" in page
