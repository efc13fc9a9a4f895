"""The report broken down by shopper segment: per segment and variant, visitors, buyers, rate and
uplift with its interval, on the report page, in the results API and in a CSV; segments too
small to read are flagged."""

import csv
import io

import pytest
from django.apps import apps

from merchandising.experiments import services
from merchandising.experiments.selectors import experiment_report

pytestmark = pytest.mark.skipif(
    not apps.is_installed("recsys.segments"), reason="segments are not installed"
)


def _segment(shop, name, visitor_ids):
    from recsys.segments.models import Segment, SegmentMembership

    segment = Segment.objects.create(
        merchant=shop.merchant, kind="rule", name=name, size=len(visitor_ids)
    )
    SegmentMembership.objects.bulk_create(
        SegmentMembership(merchant=shop.merchant, segment=segment, visitor_id=v)
        for v in visitor_ids
    )
    return segment


@pytest.fixture
def tested(shop, products, api):
    """A copy test where variant B converts much better among 'Cooks' and no better among
    'Browsers'; 'Few' holds a handful of visitors. Traffic arrives through the storefront."""
    exp = services.experiment_create(
        merchant=shop.merchant, key="seg", name="Segments", kind="copy", field="description", products=products[:1],
        variants=[{"name": "A", "weight": 0.5, "is_control": True},
                  {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "Sizzling copy."}}}],
    )  # fmt: skip
    services.experiment_start(experiment=exp)
    store = api.as_storefront(shop.publishable_key)
    sku = products[0].sku
    arms: dict[str, str] = {}
    events = []
    for i in range(800):
        vid = f"v{i}"
        text = store.get(f"/api/v1/storefront/products/{sku}", {"visitor_id": vid}).json()["copy"][
            "description"
        ]
        arms[vid] = "B" if text == "Sizzling copy." else "A"
        cook = i % 2 == 0
        # Cooks: A buys 1 in 10, B 1 in 2. Browsers: 1 in 10 in both arms.
        buys = (i // 2) % 10 == 0 if not (cook and arms[vid] == "B") else (i // 2) % 2 == 0
        if buys:
            events.append(
                {
                    "event_id": f"{vid}-buy",
                    "type": "purchase",
                    "visitor_id": vid,
                    "sku": sku,
                    "value": "10",
                }
            )
    for start in range(0, len(events), 500):
        resp = store.post(
            "/api/v1/storefront/events", {"events": events[start : start + 500]}, format="json"
        )
        assert resp.status_code == 200, resp.content
    services.experiment_rollup(experiment=exp, full=True)
    vids = sorted(arms, key=lambda v: int(v[1:]))
    _segment(shop, "Cooks", [v for v in vids if int(v[1:]) % 2 == 0])
    _segment(shop, "Browsers", [v for v in vids if int(v[1:]) % 2 == 1])
    _segment(shop, "Few", vids[:30])
    _segment(shop, "Nobody exposed", ["someone-else"])
    return exp, arms


def test_breakdown_per_segment_and_variant(shop, tested):
    exp, arms = tested
    segments = {s["segment"]: s for s in experiment_report(shop.merchant, exp)["segments"]}
    # a segment that none of the exposed visitors is in is left out
    assert set(segments) == {"Cooks", "Browsers", "Few"}
    cooks = {v["name"]: v for v in segments["Cooks"]["variants"]}
    expected_b = sum(1 for v, arm in arms.items() if arm == "B" and int(v[1:]) % 2 == 0)
    assert cooks["B"]["units"] == expected_b
    assert cooks["A"]["units"] + cooks["B"]["units"] == 400
    assert 0.4 < cooks["B"]["rate"] < 0.6 and cooks["A"]["rate"] < 0.2
    assert cooks["B"]["uplift_ci_low"] > 0  # the effect is clearly there
    assert cooks["B"]["ci_low"] < cooks["B"]["rate"] < cooks["B"]["ci_high"]
    browsers = {v["name"]: v for v in segments["Browsers"]["variants"]}
    assert browsers["B"]["uplift_ci_low"] < 0 < browsers["B"]["uplift_ci_high"]  # and here not
    assert segments["Few"]["too_small"] and not segments["Cooks"]["too_small"]
    # conversions per segment agree with the whole report
    total = experiment_report(shop.merchant, exp)["analysis"]["variants"]
    assert sum(v["conversions"] for v in total) == sum(
        v["conversions"] for s in ("Cooks", "Browsers") for v in segments[s]["variants"]
    )


def test_breakdown_in_results_api_csv_and_report_page(shop, tested, api, client):
    exp, _ = tested
    merchant_api = api.as_key(shop.secret_key)
    results = merchant_api.get(f"/api/v1/experiments/{exp.pk}/results").json()
    assert {s["segment"] for s in results["segments"]} == {"Cooks", "Browsers", "Few"}
    resp = merchant_api.get(f"/api/v1/experiments/{exp.pk}/segments.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert len(rows) == 3 * 2
    few = [r for r in rows if r["segment"] == "Few"]
    assert {r["too_small"] for r in few} == {"True"}
    client.force_login(shop.owner)
    page = client.get(f"/m/{shop.merchant.slug}/experiments/{exp.pk}/").content.decode()
    section = page.split('id="segments"', 1)[1]
    assert "Cooks" in section and "Browsers" in section
    assert section.count(">too small to read<") == 1
    dash_csv = client.get(f"/m/{shop.merchant.slug}/experiments/{exp.pk}/segments.csv")
    assert dash_csv.content == resp.content


def test_a_purchase_that_no_longer_counts_clears_the_flag(shop, tested):
    """The conversion flag follows the events: after the purchases are erased, a re-roll-up
    shows no buyers in any segment."""
    from merchandising.tracking.models import Event

    exp, _ = tested
    Event.objects.filter(merchant=shop.merchant, type="purchase").delete()
    services.experiment_rollup(experiment=exp, full=True)
    segments = experiment_report(shop.merchant, exp)["segments"]
    assert segments and all(v["conversions"] == 0 for s in segments for v in s["variants"])
