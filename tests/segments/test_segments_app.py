"""Segments on a shop with simulated traffic: discovery, names, rules, merge, erasure, privacy."""

from __future__ import annotations

import pytest
from sklearn.metrics import adjusted_rand_score

from recsys.segments.clustering import NotEnoughVisitors

pytestmark = pytest.mark.django_db


@pytest.fixture
def traffic(shop, load_traffic):
    """A small simulated shop: enough to find segments, quick to load."""
    return load_traffic(shop.merchant, visitors=120, days=20)


def discover(merchant):
    from recsys.segments.services import segments_discover

    return segments_discover(merchant=merchant, k_range=range(3, 8))


def memberships(merchant) -> dict[str, int]:
    from recsys.segments.models import SegmentMembership

    return dict(
        SegmentMembership.objects.filter(merchant=merchant, segment__kind="found").values_list(
            "visitor_id", "segment_id"
        )
    )


def test_segments_page_data_recovers_simulated_groups(shop, load_traffic, api):
    traffic = load_traffic(shop.merchant, visitors=250, days=30)
    run = discover(shop.merchant)
    assert run.k == int(max(run.scores, key=run.scores.get)) and "silhouette" in run.criterion
    found = memberships(shop.merchant)
    truth = traffic.latent_segments()
    ari = adjusted_rand_score([truth[v] for v in found], list(found.values()))
    print(f"k={run.k} silhouette={run.scores} adjusted Rand index {ari:.3f}")
    assert ari > 0.6, ari

    body = api.as_key(shop.secret_key).get("/api/v1/segments").json()
    assert body["latest_run"]["k"] == run.k
    names = [s["name"] for s in body["results"]]
    assert len(names) == int(run.k) == len(set(names))
    card = body["results"][0]["card"]
    for key in (
        "conversion_rate",
        "average_order_value",
        "top_categories",
        "top_brands",
        "differences",
    ):
        assert key in card
    assert sum(s["size"] for s in body["results"]) == len(found)


def test_visitor_profile_via_api(shop, traffic, api):
    discover(shop.merchant)
    visitor = next(iter(memberships(shop.merchant)))
    body = api.as_key(shop.secret_key).get(f"/api/v1/visitors/{visitor}").json()
    assert body["visitor_id"] == visitor
    assert body["views"] > 0 and body["top_categories"] and body["device"] and body["country"]
    assert len(body["segments"]) == 1 and body["segments"][0]["kind"] == "found"


def test_rename_survives_rediscovery_and_merge_combines(shop, traffic, api):
    from recsys.segments.models import Segment

    discover(shop.merchant)
    client = api.as_key(shop.secret_key)
    first, second = Segment.objects.filter(merchant=shop.merchant, kind="found")[:2]
    response = client.patch(
        f"/api/v1/segments/{first.pk}", {"name": "Our best customers"}, format="json"
    )
    assert response.status_code == 200
    discover(shop.merchant)  # same data: the same groups come back
    first.refresh_from_db()
    assert first.is_active and first.name == "Our best customers"

    size = first.size + second.size
    response = client.post(
        "/api/v1/segments/merge",
        {"segment_ids": [first.pk, second.pk], "name": "Merged"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["size"] == size and response.json()["name"] == "Merged"
    second.refresh_from_db()
    assert not second.is_active and second.merged_into_id == first.pk
    assert second.memberships.count() == 0


def test_rule_segments_and_a_rule_that_matches_nobody(shop, traffic, api):
    discover(shop.merchant)
    client = api.as_key(shop.secret_key)
    de = client.post(
        "/api/v1/segments/rules",
        {
            "name": "Germany",
            "rule": {"conditions": [{"field": "country", "op": "eq", "value": "DE"}]},
        },
        format="json",
    ).json()
    germans = {v.visitor_id for v in traffic.visitors if v.country == "DE"}
    assert 0 < de["size"] <= len(germans)
    twice = client.post(
        "/api/v1/segments/rules",
        {"rule": {"conditions": [{"field": "orders", "op": "gte", "value": 2}]}},
        format="json",
    ).json()
    assert twice["size"] > 0 and twice["name"] == "orders ≥ 2"
    nobody = client.post(
        "/api/v1/segments/rules",
        {
            "name": "Mars",
            "rule": {"conditions": [{"field": "country", "op": "eq", "value": "MARS"}]},
        },
        format="json",
    )
    assert nobody.status_code == 201 and nobody.json()["size"] == 0
    assert "matches no visitor" in nobody.json()["message"]
    bad = client.post(
        "/api/v1/segments/rules", {"rule": {"conditions": [{"field": "shoe_size"}]}}, format="json"
    )
    assert bad.status_code == 400 and "unknown field" in bad.json()["detail"]


def test_erasure_removes_everything_and_is_logged(shop, traffic, api):
    from merchandising.tracking.models import Event
    from recsys.segments.models import ErasureLog, SegmentMembership, VisitorProfile

    discover(shop.merchant)
    visitor = next(iter(memberships(shop.merchant)))
    assert Event.objects.filter(merchant=shop.merchant, visitor_id=visitor).exists()
    client = api.as_key(shop.secret_key)
    body = client.delete(f"/api/v1/visitors/{visitor}").json()
    assert body["found"] is True and body["deleted"]
    assert not Event.objects.filter(merchant=shop.merchant, visitor_id=visitor).exists()
    assert not VisitorProfile.objects.filter(merchant=shop.merchant, visitor_id=visitor).exists()
    assert not SegmentMembership.objects.filter(merchant=shop.merchant, visitor_id=visitor).exists()
    assert client.get(f"/api/v1/visitors/{visitor}").status_code == 404
    entry = ErasureLog.objects.get(merchant=shop.merchant)
    assert entry.found and visitor not in entry.visitor_hash and entry.via == "api"

    again = client.delete(f"/api/v1/visitors/{visitor}")
    assert again.status_code == 404
    assert again.json()["found"] is False and "nothing to erase" in again.json()["message"]


def test_only_owners_erase_and_other_merchants_see_nothing(shop, other_shop, traffic, api):
    from recsys.segments.models import Segment

    discover(shop.merchant)
    visitor = next(iter(memberships(shop.merchant)))
    segment = Segment.objects.filter(merchant=shop.merchant).first()
    api.force_authenticate(shop.reviewer)
    assert api.delete(f"/api/v1/visitors/{visitor}").status_code == 403
    api.force_authenticate(None)
    other = api.as_key(other_shop.secret_key)
    assert other.get(f"/api/v1/segments/{segment.pk}").status_code == 404
    assert (
        other.patch(f"/api/v1/segments/{segment.pk}", {"name": "x"}, format="json").status_code
        == 404
    )
    assert other.get(f"/api/v1/visitors/{visitor}").status_code == 404
    assert other.get("/api/v1/segments").json()["results"] == []
    assert other.delete(f"/api/v1/visitors/{visitor}").status_code == 404
    assert Segment.objects.get(pk=segment.pk).memberships.filter(visitor_id=visitor).exists()


def test_too_few_visitors_says_so(shop, api, load_traffic, django_capture_on_commit_callbacks):
    load_traffic(shop.merchant, visitors=8, days=5)
    with pytest.raises(NotEnoughVisitors, match="at least"):
        discover(shop.merchant)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_key(shop.secret_key).post("/api/v1/segments/discover")
    assert response.status_code == 202
    job = api.get(f"/api/v1/jobs/{response.json()['id']}").json()
    assert job["status"] == "failed" and "at least" in job["error"] + job.get("message", "")


def test_event_retention_purges_old_events(shop, traffic, api):
    from merchandising.tracking.models import Event
    from recsys.segments.services import events_purge_expired

    client = api.as_key(shop.secret_key)
    assert (
        client.put("/api/v1/privacy", {"event_retention_days": 30}, format="json").status_code
        == 200
    )
    assert client.get("/api/v1/privacy").json() == {"event_retention_days": 30}
    assert events_purge_expired(merchant=shop.merchant) > 0  # the simulated January is long gone
    assert not Event.objects.filter(merchant=shop.merchant).exists()


def test_training_the_recommender_refinds_segments_with_its_representations(
    shop, load_traffic, django_capture_on_commit_callbacks
):
    from merchandising.jobs.models import Job
    from recsys.segments.models import SegmentRun, VisitorProfile
    from recsys.services import recommender_train

    load_traffic(shop.merchant, visitors=120, days=20)
    with django_capture_on_commit_callbacks(execute=True):
        version = recommender_train(
            merchant=shop.merchant,
            config={"epochs": 3, "no_components": 8},
            evaluate_holdout=False,
        )
    job = Job.objects.get(merchant=shop.merchant, kind="segments")
    assert job.status == "succeeded", job.error
    run = SegmentRun.objects.get(merchant=shop.merchant)
    assert run.model_version == version.version
    assert any(name.startswith("lightfm_") for name in run.features)
    profile = VisitorProfile.objects.filter(merchant=shop.merchant, embedding__isnull=False).first()
    assert profile is not None and len(profile.embedding) == 8


def test_commands_find_segments_and_erase(shop, traffic):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("find_segments", "--merchant", shop.merchant.slug, "--max-k", "6", stdout=out)
    assert "segments from" in out.getvalue()
    visitor = next(iter(memberships(shop.merchant)))
    out = StringIO()
    call_command("erase_visitor", "--merchant", shop.merchant.slug, visitor, stdout=out)
    assert f"Erased visitor {visitor}" in out.getvalue()
    out = StringIO()
    call_command("erase_visitor", "--merchant", shop.merchant.slug, visitor, stdout=out)
    assert "nothing to erase" in out.getvalue()
