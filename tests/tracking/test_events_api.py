"""POST /api/v1/storefront/events: batches, per-event errors, retries stored once, unknown SKUs."""

import csv
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from merchandising.tracking.models import Event, VisitorLink

URL = "/api/v1/storefront/events"


def _event(i, **extra):
    return {"event_id": f"e-{i}", "type": "view", "visitor_id": "v-1", "sku": "SKU-0000", **extra}


@pytest.fixture
def storefront(api, shop):
    return api.as_storefront(shop.publishable_key)


def test_batch_is_stored_and_retry_is_counted_as_duplicates(storefront, shop, products):
    batch = [_event(i) for i in range(3)] + [_event(3, type="purchase", value="49.90")]
    first = storefront.post(URL, {"events": batch}, format="json")
    assert first.status_code == 200
    assert first.json() == {
        "accepted": 4,
        "duplicates": 0,
        "errors": [],
        "unknown_skus": {"count": 0, "skus": []},
    }
    again = storefront.post(URL, {"events": batch}, format="json")
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 4
    assert Event.objects.filter(merchant=shop.merchant).count() == 4
    purchase = Event.objects.get(event_id="e-3")
    assert purchase.product == products[0] and str(purchase.value) == "49.90"


def test_bad_events_are_refused_one_by_one_and_good_ones_kept(storefront, shop, products):
    batch = [
        _event(0),
        _event(1, type="teleport"),
        _event(2, visitor_id="x" * 10_000),
        {"type": "view", "visitor_id": "v"},
        _event(4, ts="yesterday"),
        _event(5, value="lots"),
        "not an object",
        _event(7, ts=(timezone.now() - timedelta(days=30)).isoformat()),
    ]
    response = storefront.post(URL, {"events": batch}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    fields = {(e["index"], e["field"]) for e in body["errors"]}
    assert fields == {
        (1, "type"),
        (2, "visitor_id"),
        (3, "event_id"),
        (4, "ts"),
        (5, "value"),
        (6, "non_field_errors"),
    }
    assert all(e["message"] for e in body["errors"])
    assert Event.objects.filter(merchant=shop.merchant).count() == 2


def test_unknown_skus_are_counted_and_reported_not_crashed_on(storefront, shop, products):
    batch = [_event(0, sku="NOPE-1"), _event(1, sku="NOPE-1"), _event(2, sku="NOPE-2"), _event(3)]
    body = storefront.post(URL, batch, format="json").json()
    assert body["accepted"] == 4
    assert body["unknown_skus"] == {"count": 3, "skus": ["NOPE-1", "NOPE-2"]}
    assert Event.objects.get(event_id="e-0").product is None


def test_batch_over_500_is_refused(storefront, products):
    response = storefront.post(URL, {"events": [_event(i) for i in range(501)]}, format="json")
    assert response.status_code == 400
    assert "500" in response.json()["detail"]


def test_all_bad_is_400_and_needs_a_publishable_key(api, storefront, shop):
    assert storefront.post(URL, {"events": [{}]}, format="json").status_code == 400
    assert api.__class__().post(URL, {"events": []}, format="json").status_code in (401, 403)
    assert api.__class__().as_key(shop.secret_key).post(
        URL, {"events": []}, format="json"
    ).status_code in (401, 403)


def test_event_ids_are_per_merchant(api, shop, other_shop, products):
    api.as_storefront(shop.publishable_key).post(URL, [_event(0)], format="json")
    body = (
        api.as_storefront(other_shop.publishable_key).post(URL, [_event(0)], format="json").json()
    )
    assert body["accepted"] == 1  # same id, other merchant: a different event
    assert Event.objects.get(merchant=other_shop.merchant).product is None


def test_visitor_link(storefront, shop):
    url = "/api/v1/storefront/visitors/link"
    assert (
        storefront.post(
            url, {"anonymous_id": "anon-1", "visitor_id": "cust-9"}, format="json"
        ).status_code
        == 200
    )
    assert storefront.post(url, {"anonymous_id": "anon-1"}, format="json").status_code == 400
    assert VisitorLink.objects.get(merchant=shop.merchant).visitor_id == "cust-9"


def test_import_events_command(tmp_path, shop, products, capsys):
    path = tmp_path / "events.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["event_id", "type", "visitor_id", "sku", "ts", "value"])
        for i in range(1200):
            writer.writerow(
                [f"c-{i}", "view", f"v-{i % 7}", "SKU-0001", "2026-03-01T10:00:00Z", ""]
            )
        writer.writerow(["bad", "jump", "v", "SKU-0001", "", ""])
        writer.writerow(["c-0", "view", "v-0", "GHOST", "", ""])
    call_command("import_events", str(path), merchant="acme", verbosity=0)
    out = capsys.readouterr().out
    assert "accepted 1200, duplicates 1, errors 1, unknown SKUs 1" in out
    assert "line 1202: type" in out
    assert Event.objects.filter(merchant=shop.merchant).count() == 1200
