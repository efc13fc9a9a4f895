"""Roll-ups from tracking events: attribution window, product scope, idempotence, the report."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from merchandising.experiments import services
from merchandising.experiments.models import VariantDay
from merchandising.experiments.selectors import experiment_report

pytestmark = pytest.mark.skipif(
    not apps.is_installed("merchandising.tracking"),
    reason="the tracking app (events) is not installed yet",
)


def _event(shop, n, *, type, visitor, sku, ts, value=None):
    from merchandising.tracking.models import Event

    return Event(
        merchant=shop.merchant, event_id=f"e{n}", type=type, visitor_id=visitor, sku=sku, ts=ts,
        value=Decimal(value) if value is not None else None,
    )  # fmt: skip


def test_rollup_counts_conversions_inside_the_window_on_the_tested_products(shop, products):
    from merchandising.tracking.models import Event

    exp = services.experiment_create(
        merchant=shop.merchant, key="roll", name="Roll", kind="copy", field="description", products=products[:1],
        attribution_window_hours=24,
        variants=[{"name": "A", "weight": 0.5}, {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "x"}}}],
    )  # fmt: skip
    services.experiment_start(experiment=exp)
    a, b = list(exp.variants.order_by("position"))
    day1 = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)
    services.exposures_record(experiment=exp, pairs=[("v1", a), ("v2", a), ("v3", b)], when=day1)
    services.exposures_record(experiment=exp, pairs=[("v4", b)], when=day1 + timedelta(days=1))
    sku, other = products[0].sku, products[1].sku
    Event.objects.bulk_create(
        [
            _event(
                shop,
                1,
                type="purchase",
                visitor="v1",
                sku=sku,
                ts=day1 + timedelta(hours=2),
                value="30.00",
            ),
            _event(
                shop,
                2,
                type="purchase",
                visitor="v1",
                sku=sku,
                ts=day1 + timedelta(hours=3),
                value="10.00",
            ),
            _event(
                shop,
                3,
                type="purchase",
                visitor="v2",
                sku=sku,
                ts=day1 + timedelta(hours=30),
                value="5.00",
            ),
            _event(
                shop,
                4,
                type="purchase",
                visitor="v3",
                sku=other,
                ts=day1 + timedelta(hours=1),
                value="8.00",
            ),
            _event(
                shop, 5, type="add_to_cart", visitor="v3", sku=sku, ts=day1 + timedelta(hours=1)
            ),
            _event(
                shop,
                6,
                type="purchase",
                visitor="v4",
                sku=sku,
                ts=day1 + timedelta(days=1, hours=1),
                value="20.00",
            ),
            _event(
                shop,
                7,
                type="purchase",
                visitor="v3",
                sku=sku,
                ts=day1 - timedelta(hours=1),
                value="9.00",
            ),
        ]
    )
    assert services.experiment_rollup(experiment=exp) == 3
    rows = {
        (r.variant.name, r.day): r
        for r in VariantDay.objects.filter(experiment=exp).select_related("variant")
    }
    ra = rows[("A", day1.date())]
    assert (ra.exposures, ra.converters, ra.revenue_sum, ra.revenue_sumsq) == (2, 1, 40.0, 1600.0)
    rb = rows[("B", day1.date())]
    assert (rb.exposures, rb.converters, rb.add_to_cart) == (
        1,
        0,
        1,
    )  # other product, and before exposure
    assert rows[("B", (day1 + timedelta(days=1)).date())].converters == 1
    # re-running replaces rather than adds
    services.experiment_rollup(experiment=exp)
    services.experiment_rollup(experiment=exp, full=True)
    assert VariantDay.objects.filter(experiment=exp).count() == 3
    report = experiment_report(shop.merchant, exp)
    arms = {v["name"]: v for v in report["analysis"]["variants"]}
    assert (arms["A"]["units"], arms["A"]["conversions"]) == (2, 1)
    assert (arms["B"]["units"], arms["B"]["conversions"]) == (2, 1)
    assert arms["A"]["value_sum"] == 40.0
    assert [p["units"] for p in report["series"]["B"]] == [1, 2]
