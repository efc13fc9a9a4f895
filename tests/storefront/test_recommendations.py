"""The storefront recommendations endpoint as a shop's widget uses it."""

from decimal import Decimal

import pytest

from merchandising.catalog.models import LiveCopy, Product
from merchandising.storefront import services
from merchandising.storefront.models import Placement

URL = "/api/v1/storefront/recommendations"


def add_products(merchant, specs):
    out = []
    for sku, category, stock, *rest in specs:
        p = Product.objects.create(
            merchant=merchant,
            sku=sku,
            title=f"Title {sku}",
            brand=rest[0] if rest else "Kuchen",
            category=category,
            price=Decimal("10.00"),
            stock=stock,
            image_url=f"https://img.test/{sku}.png",
        )
        out.append(p)
    return out


@pytest.fixture
def catalog(shop):
    return add_products(
        shop.merchant,
        [
            ("PAN-1", "Kitchen > Cookware", 5),
            ("PAN-2", "Kitchen > Cookware", 5),
            ("KNIFE-1", "Kitchen > Knives", 5),
            ("MUG-1", "Tableware > Mugs", 5),
            ("GONE-1", "Kitchen > Cookware", 0),
        ],
    )


def get(api, key, **params):
    return api.as_storefront(key).get(URL, params)


def test_new_merchant_gets_default_placements(shop):
    keys = set(Placement.objects.filter(merchant=shop.merchant).values_list("key", flat=True))
    assert {"home", "product_similar", "cart_complete"} <= keys


def test_before_any_model_the_fallback_answers(api, shop, catalog):
    r = get(api, shop.publishable_key, placement="home", visitor_id="v1")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["placement"] == "home"
    assert body["model_version"] is None
    assert body["strategy"] == "popularity"
    assert len(body["request_id"]) >= 16
    skus = [i["sku"] for i in body["items"]]
    assert "GONE-1" not in skus  # out of stock
    # home shows at most 2 per top-level category by default: two Kitchen products and the mug.
    assert len(skus) == 3 and "MUG-1" in skus
    assert sum(s != "MUG-1" for s in skus) == 2
    first = body["items"][0]
    assert set(first) >= {"sku", "title", "price", "image_url", "score", "reason"}
    assert first["title"] == f"Title {first['sku']}"
    assert first["price"] == "10.00"
    assert first["reason"] == "popular in this shop"


def test_each_answer_has_its_own_request_id(api, shop, catalog):
    a = get(api, shop.publishable_key, placement="home", visitor_id="v1").json()
    b = get(api, shop.publishable_key, placement="home", visitor_id="v1").json()
    assert a["request_id"] != b["request_id"]


def test_limit_and_placement_limit(api, shop, catalog):
    body = get(api, shop.publishable_key, placement="home", visitor_id="v1", limit=2).json()
    assert len(body["items"]) == 2
    placement = Placement.objects.get(merchant=shop.merchant, key="home")
    services.placement_update(placement=placement, limit=3)
    body = get(api, shop.publishable_key, placement="home", visitor_id="v1").json()
    assert len(body["items"]) == 3
    r = get(api, shop.publishable_key, placement="home", visitor_id="v1", limit=500)
    assert r.status_code == 400 and "limit" in r.json()["detail"]


@pytest.mark.parametrize("length", [201, 10_000])
def test_overlong_visitor_id_is_refused_naming_the_field(api, shop, catalog, length):
    r = get(api, shop.publishable_key, placement="home", visitor_id="x" * length)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("visitor_id")


def test_missing_parameters_are_named(api, shop, catalog):
    r = get(api, shop.publishable_key, visitor_id="v1")
    assert r.status_code == 400 and r.json()["detail"].startswith("placement")
    r = get(api, shop.publishable_key, placement="home")
    assert r.status_code == 400 and r.json()["detail"].startswith("visitor_id")


def test_unknown_or_disabled_placement_is_not_found(api, shop, catalog):
    assert get(api, shop.publishable_key, placement="nope", visitor_id="v1").status_code == 404
    placement = Placement.objects.get(merchant=shop.merchant, key="home")
    services.placement_update(placement=placement, enabled=False)
    assert get(api, shop.publishable_key, placement="home", visitor_id="v1").status_code == 404


def test_keys_and_placements_stay_within_their_merchant(api, shop, other_shop, catalog):
    services.placement_create(
        merchant=shop.merchant, key="summer", name="Summer", strategy="newest"
    )
    assert (
        get(api, other_shop.publishable_key, placement="summer", visitor_id="v1").status_code == 404
    )
    body = get(api, other_shop.publishable_key, placement="home", visitor_id="v1").json()
    assert body["items"] == []  # the other shop has no products; never ours
    assert get(api, shop.secret_key, placement="home", visitor_id="v1").status_code in (401, 403)


def test_similar_without_model_prefers_the_same_category(api, shop, catalog):
    body = get(
        api, shop.publishable_key, placement="product_similar", visitor_id="v1", sku="PAN-1"
    ).json()
    skus = [i["sku"] for i in body["items"]]
    assert "PAN-1" not in skus
    assert skus[0] == "PAN-2"
    assert body["items"][0]["reason"] == "popular in this category"


def test_newest_and_fixed_strategies_with_rules(api, shop, catalog):
    services.placement_create(
        merchant=shop.merchant,
        key="picks",
        name="Staff picks",
        strategy="fixed",
        fixed_skus=["MUG-1", "KNIFE-1", "GONE-1", "NOT-A-SKU"],
        fallback_strategy="newest",
        rules=[{"action": "pin", "sku": "PAN-2", "position": 2}],
        limit=4,
    )
    body = get(api, shop.publishable_key, placement="picks", visitor_id="v1").json()
    skus = [i["sku"] for i in body["items"]]
    assert skus[:3] == ["MUG-1", "PAN-2", "KNIFE-1"]
    assert body["items"][1]["reason"] == "featured by the shop"
    assert body["items"][3]["reason"] == "new arrival"  # backfilled from the fallback


def test_live_copy_description_is_served(api, shop, catalog):
    LiveCopy.objects.create(
        merchant=shop.merchant, product=catalog[3], field="description", value="A big mug for tea."
    )
    services.placement_create(
        merchant=shop.merchant, key="mugs", name="Mugs", strategy="fixed", fixed_skus=["MUG-1"]
    )
    body = get(api, shop.publishable_key, placement="mugs", visitor_id="v1").json()
    assert body["items"][0]["description"] == "A big mug for tea."


def test_catalog_changes_show_without_restart(api, shop, catalog):
    services.placement_create(
        merchant=shop.merchant, key="new", name="New in", strategy="newest", limit=1
    )
    assert (
        get(api, shop.publishable_key, placement="new", visitor_id="v").json()["items"][0]["sku"]
        == "MUG-1"
    )
    add_products(shop.merchant, [("HAT-1", "Clothes > Hats", 3)])
    assert (
        get(api, shop.publishable_key, placement="new", visitor_id="v").json()["items"][0]["sku"]
        == "HAT-1"
    )


def test_placement_settings_are_validated(shop):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as e:
        services.placement_create(
            merchant=shop.merchant,
            key="bad",
            name="Bad",
            rules=[{"action": "boost", "field": "colour"}],
        )
    assert "rules" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.placement_create(merchant=shop.merchant, key="Bad Key", name="Bad")
    assert "key" in e.value.message_dict
    with pytest.raises(ValidationError) as e:
        services.placement_create(merchant=shop.merchant, key="f", name="F", strategy="fixed")
    assert "fixed_skus" in e.value.message_dict


def test_a_running_placement_experiment_decides_the_visitors_settings(api, shop, catalog):
    from merchandising.experiments import services as experiments
    from merchandising.experiments.models import Exposure

    placement = Placement.objects.get(merchant=shop.merchant, key="home")
    experiment = experiments.experiment_create(
        merchant=shop.merchant,
        key="home-newest",
        name="Newest on home",
        kind="placement",
        placement=placement,
        variants=[
            {"name": "A", "weight": 0.5, "is_control": True, "payload": {}},
            {"name": "B", "weight": 0.5, "payload": {"strategy": "newest", "diversity": {}}},
        ],
    )
    body = get(api, shop.publishable_key, placement="home", visitor_id="v-exp").json()
    assert body["variant"] is None  # a draft experiment changes nothing
    experiments.experiment_start(experiment=experiment)
    seen = {}
    for n in range(30):
        body = get(api, shop.publishable_key, placement="home", visitor_id=f"v-{n}").json()
        seen.setdefault(body["variant"], []).append(body)
        again = get(api, shop.publishable_key, placement="home", visitor_id=f"v-{n}").json()
        assert again["variant"] == body["variant"]  # a visitor keeps their variant
    assert set(seen) == {"A", "B"}
    assert all(b["strategy"] == "popularity" for b in seen["A"])
    assert all(b["strategy"] == "newest" and b["items"][0]["sku"] == "MUG-1" for b in seen["B"])
    assert Exposure.objects.filter(experiment=experiment).count() == 30
