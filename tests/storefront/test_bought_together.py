"""Products bought together, trained from a small simulated shop's events and served to the cart
and product pages through the recommendations API."""

from datetime import UTC, datetime, timedelta

import pytest

from merchandising.catalog.services import product_bulk_upsert
from merchandising.storefront import services as placements
from merchandising.storefront.models import Placement
from merchandising.tracking.services import events_ingest
from recsys import services
from recsys.models import ModelVersion

URL = "/api/v1/storefront/recommendations"
START = datetime(2026, 3, 1, tzinfo=UTC)
PRODUCTS = [
    ("KETTLE-RED", "Copper kettle red", "Kitchen > Kettles"),
    ("KETTLE-BLUE", "Copper kettle blue", "Kitchen > Kettles"),
    ("TEA", "Earl grey tea", "Pantry > Tea"),
    ("MUG", "Enamel mug", "Tableware > Mugs"),
    ("SPADE", "Garden spade", "Garden > Tools"),
    ("GLOVES", "Garden gloves", "Outdoor > Gloves"),
    ("ATLAS", "World atlas", "Books > Maps"),
]


@pytest.fixture(autouse=True)
def _small_model(settings):
    settings.MERCHLAB_RECSYS_CONFIG = {
        "no_components": 4,
        "epochs": 3,
        "num_threads": 1,
        "next_items": {"dim": 8, "blocks": 1, "epochs": 1},
    }


@pytest.fixture
def catalog(shop):
    product_bulk_upsert(
        merchant=shop.merchant,
        items=[
            {"sku": sku, "title": title, "category": category, "price": "12.00", "stock": 5}
            for sku, title, category in PRODUCTS
        ],
    )


def _baskets(merchant, baskets, *, buy=True, prefix="b"):
    """Each basket: one visitor adds its products to the cart within minutes (then buys)."""
    events = []
    for n, skus in enumerate(baskets):
        visitor = f"{prefix}-{n}"
        at = START + timedelta(hours=n)
        events.append(
            {
                "event_id": f"{visitor}-view",
                "type": "view",
                "visitor_id": visitor,
                "sku": "ATLAS",
                "ts": at.isoformat(),
            }
        )
        for j, sku in enumerate(skus):
            for kind in ("add_to_cart", "purchase") if buy else ("add_to_cart",):
                events.append(
                    {
                        "event_id": f"{visitor}-{sku}-{kind}",
                        "type": kind,
                        "visitor_id": visitor,
                        "sku": sku,
                        "ts": (at + timedelta(minutes=j + (kind == "purchase") * 10)).isoformat(),
                    }
                )
    events_ingest(merchant=merchant, events=events)


@pytest.fixture
def trained(shop, catalog):
    _baskets(
        shop.merchant,
        [["KETTLE-RED", "TEA"]] * 12
        + [["KETTLE-RED", "MUG"]] * 4
        + [["KETTLE-RED", "KETTLE-BLUE"]] * 8
        + [["SPADE", "GLOVES"]] * 10,
    )
    version = services.recommender_train(merchant=shop.merchant, evaluate_holdout=False)
    assert version.metrics["components"]["bought_together"]["baskets_with_pairs"] == 34
    return shop


def get(api, key, **params):
    response = api.as_storefront(key).get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_cart_placement_completes_the_order_with_products_bought_together(api, trained):
    answer = get(
        api, trained.publishable_key, placement="cart_complete", visitor_id="new", cart="TEA"
    )
    assert answer["strategy"] == "bought_together" and answer["model_version"] == 1
    assert answer["items"][0]["sku"] == "KETTLE-RED"
    assert answer["items"][0]["reason"] == "often bought with Earl grey tea"
    assert "TEA" not in [item["sku"] for item in answer["items"]]


def test_a_carts_products_are_anchors_together(api, trained):
    answer = get(
        api,
        trained.publishable_key,
        placement="cart_complete",
        visitor_id="new",
        cart="TEA,SPADE",
        limit=2,
    )
    reasons = {item["sku"]: item["reason"] for item in answer["items"]}
    assert reasons == {
        "KETTLE-RED": "often bought with Earl grey tea",
        "GLOVES": "often bought with Garden spade",
    }


def test_the_visitors_cart_is_read_from_their_events_when_the_page_does_not_send_it(api, trained):
    _baskets(trained.merchant, [["SPADE"]], buy=False, prefix="shopper")
    answer = get(api, trained.publishable_key, placement="cart_complete", visitor_id="shopper-0")
    assert answer["items"][0]["sku"] == "GLOVES"
    assert answer["items"][0]["reason"] == "often bought with Garden spade"


def test_product_page_leaves_out_variants_of_the_product_unless_asked(api, trained):
    placement = placements.placement_create(
        merchant=trained.merchant,
        key="pdp-together",
        name="Bought together",
        strategy=Placement.Strategy.BOUGHT_TOGETHER,
        limit=3,
    )
    answer = get(
        api, trained.publishable_key, placement="pdp-together", visitor_id="x", sku="KETTLE-RED"
    )
    skus = [item["sku"] for item in answer["items"]]
    assert skus[:2] == ["TEA", "MUG"] and "KETTLE-BLUE" not in skus
    placements.placement_update(placement=placement, filters={"include_same_family": True})
    answer = get(
        api, trained.publishable_key, placement="pdp-together", visitor_id="x", sku="KETTLE-RED"
    )
    assert "KETTLE-BLUE" in [item["sku"] for item in answer["items"]]


def test_an_anchor_without_partners_is_served_by_the_hybrid(api, trained):
    answer = get(
        api, trained.publishable_key, placement="cart_complete", visitor_id="new", cart="ATLAS"
    )
    assert answer["strategy"] == "lightfm" and answer["model_version"] == 1
    assert answer["items"] and "ATLAS" not in [item["sku"] for item in answer["items"]]


def test_an_unknown_anchor_answers_from_the_fallback_and_says_why(api, trained):
    answer = get(
        api, trained.publishable_key, placement="cart_complete", visitor_id="new", cart="GONE-1"
    )
    assert answer["items"]
    assert all("GONE-1 is not on sale in this shop" in i["reason"] for i in answer["items"])


def test_a_malformed_cart_is_a_400_naming_the_field(api, trained):
    cart = ",".join(f"S{i}" for i in range(51))
    response = api.as_storefront(trained.publishable_key).get(
        URL, {"placement": "cart_complete", "visitor_id": "v", "cart": cart}
    )
    assert response.status_code == 400 and "cart" in response.json()["errors"]


def test_a_shop_without_purchases_trains_the_rest_and_says_what_was_skipped(shop, catalog):
    events = [
        {
            "event_id": f"v{n}-{sku}",
            "type": "view",
            "visitor_id": f"v{n}",
            "sku": sku,
            "ts": (START + timedelta(minutes=n * 7 + j)).isoformat(),
        }
        for n in range(10)
        for j, (sku, _, _) in enumerate(PRODUCTS[:4])
    ]
    events_ingest(merchant=shop.merchant, events=events)
    version = services.recommender_train(merchant=shop.merchant, evaluate_holdout=False)
    assert version.status == ModelVersion.Status.READY and version.is_active
    assert "no add-to-cart or purchase events" in version.metrics["skipped"]["bought_together"]
