"""Experiments on PostgreSQL: lifecycle rules, serving through the storefront, API, tenancy, shipping."""

import pytest
from django.core.exceptions import ValidationError

from merchandising.catalog.models import LiveCopy
from merchandising.experiments import services
from merchandising.experiments.models import Experiment, Exposure


def copy_experiment(shop, products, key="desc-test", **extra):
    return services.experiment_create(
        merchant=shop.merchant,
        key=key,
        name="Shorter descriptions",
        kind="copy",
        field="description",
        products=products[:2],
        hypothesis="Shorter copy sells more",
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True},
            {
                "name": "B",
                "weight": 0.5,
                "payload": {"copy": {str(products[0].pk): "Short and sweet."}},
            },
        ],
        **extra,
    )


@pytest.fixture
def placement(shop):
    from merchandising.storefront.services import placement_create

    return placement_create(
        merchant=shop.merchant, key="home-test", name="Home", strategy="popularity"
    )


def test_weights_that_do_not_sum_up_are_refused(shop, products):
    with pytest.raises(ValidationError, match="sum to 1"):
        services.experiment_create(
            merchant=shop.merchant, key="bad", name="x", kind="copy", field="description", products=products,
            variants=[{"name": "A", "weight": 0.5}, {"name": "B", "weight": 0.4, "payload": {"copy": {str(products[0].pk): "x"}}}],
        )  # fmt: skip


def test_two_running_experiments_on_the_same_field_are_refused(shop, products):
    first = copy_experiment(shop, products, key="one")
    second = copy_experiment(shop, products, key="two")
    services.experiment_start(experiment=first)
    with pytest.raises(ValidationError, match="already running"):
        services.experiment_start(experiment=second)
    services.experiment_pause(experiment=first)
    services.experiment_start(experiment=second)  # the first no longer runs
    with pytest.raises(ValidationError, match="already running"):
        services.experiment_start(experiment=first)


def test_two_running_experiments_on_one_placement_are_refused(shop, placement):
    def make(key):
        return services.experiment_create(
            merchant=shop.merchant, key=key, name=key, kind="placement", placement=placement,
            variants=[{"name": "popular", "weight": 0.5}, {"name": "newest", "weight": 0.5, "payload": {"strategy": "newest"}}],
        )  # fmt: skip

    services.experiment_start(experiment=make("p1"))
    with pytest.raises(ValidationError, match="already running"):
        services.experiment_start(experiment=make("p2"))


def test_weight_change_while_running_is_refused_or_restarts(shop, products):
    exp = copy_experiment(shop, products)
    services.experiment_start(experiment=exp)
    for i in range(40):
        services.exposure_record_and_variant(
            merchant=shop.merchant, visitor_id=f"v{i}", product=products[0]
        )
    assert exp.exposures.count() > 0
    with pytest.raises(ValidationError, match="Restart"):
        services.experiment_weights_set(experiment=exp, weights={"A": 0.3, "B": 0.7})
    out = services.experiment_weights_set(
        experiment=exp, weights={"A": 0.3, "B": 0.7}, restart=True
    )
    assert "discarded" in out["warning"]
    exp.refresh_from_db()
    assert exp.exposures.count() == 0 and exp.run == 2
    assert sorted(exp.variants.values_list("weight", flat=True)) == [0.3, 0.7]


def test_storefront_serves_sticky_variants_and_records_one_exposure(shop, products, api):
    exp = copy_experiment(shop, products)
    services.experiment_start(experiment=exp)
    client = api.as_storefront(shop.publishable_key)
    seen = {}
    for i in range(60):
        vid = f"visitor-{i}"
        first = client.get(
            f"/api/v1/storefront/products/{products[0].sku}", {"visitor_id": vid}
        ).json()
        again = client.get(
            f"/api/v1/storefront/products/{products[0].sku}", {"visitor_id": vid}
        ).json()
        assert first["copy"]["description"] == again["copy"]["description"]
        seen[vid] = first["copy"]["description"]
    assert set(seen.values()) == {"Short and sweet.", "A copper saucepan, number 0."}
    assert Exposure.objects.filter(experiment=exp).count() == 60
    by_variant = dict(
        Exposure.objects.filter(experiment=exp).values_list("visitor_id", "variant__name")
    )
    assert all((seen[v] == "Short and sweet.") == (by_variant[v] == "B") for v in seen)
    # a product without alternative copy in B shows its live copy to everyone
    other = client.get(
        f"/api/v1/storefront/products/{products[1].sku}", {"visitor_id": "visitor-1"}
    ).json()
    assert other["copy"]["description"] == "A copper saucepan, number 1."
    # paused: everyone sees the live copy again
    services.experiment_pause(experiment=exp)
    texts = {
        client.get(f"/api/v1/storefront/products/{products[0].sku}", {"visitor_id": v}).json()[
            "copy"
        ]["description"]
        for v in seen
    }
    assert texts == {"A copper saucepan, number 0."}


def test_storefront_assignments_endpoint(shop, products, placement, api):
    exp = copy_experiment(shop, products)
    services.experiment_start(experiment=exp)
    pexp = services.experiment_create(
        merchant=shop.merchant, key="home-strategy", name="Home strategy", kind="placement", placement=placement,
        variants=[{"name": "popular", "weight": 0.5}, {"name": "newest", "weight": 0.5, "payload": {"strategy": "newest"}}],
    )  # fmt: skip
    services.experiment_start(experiment=pexp)
    client = api.as_storefront(shop.publishable_key)
    body = client.get("/api/v1/storefront/assignments", {"visitor_id": "abc"}).json()
    assert {a["experiment"] for a in body["assignments"]} == {"desc-test", "home-strategy"}
    again = client.get("/api/v1/storefront/assignments", {"visitor_id": "abc"}).json()
    assert again == body
    assert Exposure.objects.filter(visitor_id="abc").count() == 2
    assert (
        client.get("/api/v1/storefront/assignments", {"visitor_id": "x" * 201}).status_code == 400
    )
    assert client.get("/api/v1/storefront/assignments").status_code == 400


def test_placement_variant_for_recommendations(shop, placement):
    exp = services.experiment_create(
        merchant=shop.merchant, key="home-strategy", name="Home strategy", kind="placement", placement=placement,
        variants=[{"name": "popular", "weight": 0.5}, {"name": "newest", "weight": 0.5, "payload": {"strategy": "newest"}}],
    )  # fmt: skip
    assert (
        services.exposure_record_and_variant(
            merchant=shop.merchant, visitor_id="v1", placement=placement
        )
        is None
    )
    services.experiment_start(experiment=exp)
    names = {
        services.exposure_record_and_variant(
            merchant=shop.merchant, visitor_id=f"v{i}", placement=placement
        ).name
        for i in range(30)
    }
    assert names == {"popular", "newest"}
    assert (
        services.exposure_record_and_variant(
            merchant=shop.merchant, visitor_id="", placement=placement
        )
        is None
    )


def test_api_create_results_csv_and_tenancy(shop, other_shop, products, api):
    client = api.as_key(shop.secret_key)
    payload = {
        "key": "api-test", "name": "API test", "kind": "copy", "field": "description",
        "products": [products[0].sku],
        "variants": [
            {"name": "A", "weight": 0.5, "is_control": True},
            {"name": "B", "weight": 0.5, "payload": {"copy": {str(products[0].pk): "New text"}}},
        ],
    }  # fmt: skip
    created = client.post("/api/v1/experiments", payload, format="json")
    assert created.status_code == 201, created.content
    eid = created.json()["id"]
    assert client.post(f"/api/v1/experiments/{eid}/start").json()["status"] == "running"
    results = client.get(f"/api/v1/experiments/{eid}/results").json()
    assert results["analysis"]["decision"]["sentence"].startswith("Not enough data")
    csv_resp = client.get(f"/api/v1/experiments/{eid}/daily.csv")
    assert csv_resp.status_code == 200
    assert csv_resp.content.decode().splitlines()[0].startswith("day,variant,exposures,converters")
    bad = client.post(
        "/api/v1/experiments",
        {
            **payload,
            "key": "bad",
            "variants": [{"name": "A", "weight": 0.9}, {"name": "B", "weight": 0.3}],
        },
        format="json",
    )
    assert bad.status_code == 400
    other = api.__class__().as_key(other_shop.secret_key)
    assert other.get(f"/api/v1/experiments/{eid}").status_code == 404
    assert other.get(f"/api/v1/experiments/{eid}/results").status_code == 404
    assert other.post(f"/api/v1/experiments/{eid}/stop").status_code == 404
    assert other.get("/api/v1/experiments").json() == []


def test_ship_the_winner_publishes_the_copy(shop, products):
    exp = copy_experiment(shop, products)
    services.experiment_start(experiment=exp)
    with pytest.raises(ValidationError, match="no winner"):
        services.experiment_ship(experiment=exp)
    services.experiment_ship(experiment=exp, variant_name="B", user=shop.owner)
    exp.refresh_from_db()
    assert exp.status == Experiment.Status.STOPPED and exp.winner == "B"
    live = LiveCopy.objects.get(product=products[0], field="description")
    assert live.value == "Short and sweet."
    assert live.revision.note.startswith("Experiment desc-test")
    with pytest.raises(ValidationError, match="already shipped"):
        services.experiment_ship(experiment=exp, variant_name="B")


def test_withdrawn_copy_falls_back_to_live_and_warns(shop, products, api):
    from merchandising.experiments.selectors import experiment_report

    exp = copy_experiment(shop, products)
    services.experiment_start(experiment=exp)
    b = exp.variants.get(name="B")
    services.variant_copy_withdraw(experiment=exp, variant=b, product_id=products[0].pk)
    client = api.as_storefront(shop.publishable_key)
    texts = {
        client.get(
            f"/api/v1/storefront/products/{products[0].sku}", {"visitor_id": f"u{i}"}
        ).json()["copy"]["description"]
        for i in range(20)
    }
    assert texts == {"A copper saucepan, number 0."}
    assert any("withdrawn" in w for w in experiment_report(shop.merchant, exp)["warnings"])


def test_ship_a_placement_variant_makes_its_strategy_the_default(shop, placement, api):
    exp = services.experiment_create(
        merchant=shop.merchant, key="ship-placement", name="Ship placement", kind="placement", placement=placement,
        variants=[{"name": "popular", "weight": 0.5}, {"name": "newest", "weight": 0.5, "payload": {"strategy": "newest"}}],
    )  # fmt: skip
    services.experiment_start(experiment=exp)
    client = api.as_key(shop.secret_key)
    resp = client.post(f"/api/v1/experiments/{exp.pk}/ship", {"variant": "newest"}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "stopped" and resp.json()["winner"] == "newest"
    placement.refresh_from_db()
    assert placement.strategy == "newest"
    assert client.post(f"/api/v1/experiments/{exp.pk}/start").status_code == 400


def test_api_refuses_weight_change_and_frozen_fields_while_running(shop, products, api):
    exp = copy_experiment(shop, products)
    services.experiment_start(experiment=exp)
    services.exposure_record_and_variant(
        merchant=shop.merchant, visitor_id="someone", product=products[0]
    )
    client = api.as_key(shop.secret_key)
    refused = client.post(
        f"/api/v1/experiments/{exp.pk}/weights", {"weights": {"A": 0.2, "B": 0.8}}, format="json"
    )
    assert refused.status_code == 400 and "Restart" in refused.json()["detail"]
    restarted = client.post(
        f"/api/v1/experiments/{exp.pk}/weights",
        {"weights": {"A": 0.2, "B": 0.8}, "restart": True},
        format="json",
    )
    assert restarted.status_code == 200 and "discarded" in restarted.json()["warning"]
    frozen = client.patch(f"/api/v1/experiments/{exp.pk}", {"traffic_share": 0.5}, format="json")
    assert frozen.status_code == 400
    renamed = client.patch(f"/api/v1/experiments/{exp.pk}", {"name": "Renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
