"""End to end on PostgreSQL: storefront serves variants, events arrive through the storefront
events API, the roll-up task runs, and the results API shows the difference."""

import pytest
from django.apps import apps

from merchandising.experiments import services
from merchandising.experiments.tasks import experiment_rollup_task

pytestmark = pytest.mark.skipif(
    not apps.is_installed("merchandising.tracking"),
    reason="the tracking app (events) is not installed yet",
)


def test_storefront_to_results(shop, products, api):
    exp = services.experiment_create(
        merchant=shop.merchant, key="e2e", name="E2E", kind="copy", field="description", products=products[:1],
        variants=[{"name": "A", "weight": 0.5, "is_control": True},
                  {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "Irresistible copy."}}}],
    )  # fmt: skip
    services.experiment_start(experiment=exp)
    store = api.as_storefront(shop.publishable_key)
    sku = products[0].sku
    events, served = [], {"A": 0, "B": 0}
    for i in range(300):
        vid = f"shopper-{i}"
        text = store.get(f"/api/v1/storefront/products/{sku}", {"visitor_id": vid}).json()["copy"][
            "description"
        ]
        arm = "B" if text == "Irresistible copy." else "A"
        served[arm] += 1
        events.append({"event_id": f"{vid}-view", "type": "view", "visitor_id": vid, "sku": sku})
        if (arm == "B" and i % 2 == 0) or (arm == "A" and i % 10 == 0):
            events.append(
                {
                    "event_id": f"{vid}-buy",
                    "type": "purchase",
                    "visitor_id": vid,
                    "sku": sku,
                    "value": "49.90",
                }
            )
    resp = store.post("/api/v1/storefront/events", {"events": events}, format="json")
    assert resp.status_code == 200, resp.content
    experiment_rollup_task.delay(exp.pk)
    from rest_framework.test import APIClient

    merchant_api = APIClient()
    merchant_api.credentials(HTTP_AUTHORIZATION=f"Bearer {shop.secret_key}")
    results = merchant_api.get(f"/api/v1/experiments/{exp.pk}/results").json()
    arms = {v["name"]: v for v in results["analysis"]["variants"]}
    assert arms["A"]["units"] == served["A"] and arms["B"]["units"] == served["B"]
    assert arms["B"]["rate"] > 0.4 and arms["A"]["rate"] < 0.2
    assert arms["B"]["prob_beat_control"] > 0.99
    assert results["analysis"]["decision"]["status"] == "winner"
    assert results["analysis"]["decision"]["winner"] == "B"


def test_serving_costs_one_query_once_warm(shop, products, django_assert_num_queries):
    exp = services.experiment_create(
        merchant=shop.merchant, key="q", name="Q", kind="copy", field="description", products=products[:1],
        variants=[{"name": "A", "weight": 0.5}, {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "x"}}}],
    )  # fmt: skip
    services.experiment_start(experiment=exp)
    services.exposure_record_and_variant(
        merchant=shop.merchant, visitor_id="warm-up", product=products[0]
    )
    with django_assert_num_queries(1):  # the exposure INSERT ... ON CONFLICT DO NOTHING
        variant = services.exposure_record_and_variant(
            merchant=shop.merchant, visitor_id="v-1", product=products[0]
        )
    assert variant.name in ("A", "B")
    assert (
        services.experiment_visitor_assign(experiment=exp, visitor_id="v-1", record=False).name
        == variant.name
    )
