"""The next-item model trained from a small simulated shop's events and served from the
visitor's current session through the recommendations API."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from merchandising.catalog.services import product_bulk_upsert
from merchandising.storefront import services as placements
from merchandising.storefront.models import Placement
from merchandising.tracking.services import events_ingest
from recsys import services

URL = "/api/v1/storefront/recommendations"
START = datetime(2026, 3, 1, tzinfo=UTC)
N = 16
CATEGORIES = ["Kitchen", "Garden", "Toys", "Books"]


@pytest.fixture(autouse=True)
def _small_models(settings):
    settings.MERCHLAB_RECSYS_CONFIG = {
        "no_components": 4,
        "epochs": 3,
        "num_threads": 1,
        "next_items": {
            "dim": 16,
            "blocks": 1,
            "max_len": 8,
            "dropout": 0.0,
            "epochs": 20,
            "learning_rate": 0.005,
            "threads": 1,
        },
    }


def _views(merchant, visitor, skus, start, step_minutes=2):
    events_ingest(
        merchant=merchant,
        events=[
            {
                "event_id": f"{visitor}-{n}-{start.timestamp()}",
                "type": "view",
                "visitor_id": visitor,
                "sku": sku,
                "ts": (start + timedelta(minutes=step_minutes * n)).isoformat(),
            }
            for n, sku in enumerate(skus)
        ],
    )


@pytest.fixture
def trained(shop):
    product_bulk_upsert(
        merchant=shop.merchant,
        items=[
            {
                "sku": f"P{i}",
                "title": f"Step {i}",
                "category": CATEGORIES[i % 4],
                "price": "5.00",
                "stock": 9,
            }
            for i in range(N)
        ],
    )
    # Shoppers walk one route through the shop: after P{k} they look at P{k+1}.
    rng = np.random.RandomState(0)
    for v in range(60):
        first = rng.randint(0, N - 6)
        _views(
            shop.merchant,
            f"walker-{v}",
            [f"P{first + s}" for s in range(6)],
            START + timedelta(hours=v),
        )
    version = services.recommender_train(merchant=shop.merchant, evaluate_holdout=False)
    assert version.metrics["components"]["next_items"]["visitors_with_sequences"] == 60
    placements.placement_create(
        merchant=shop.merchant,
        key="next",
        name="Next in your session",
        strategy=Placement.Strategy.NEXT_ITEMS,
        filters={"in_stock": True, "exclude_purchased": True},
        limit=3,
    )
    return shop


def get(api, key, **params):
    response = api.as_storefront(key).get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_session_decides_what_comes_next_and_it_reacts_without_retraining(api, trained):
    now = START + timedelta(days=10)
    _views(trained.merchant, "shopper", ["P2", "P3", "P4"], now)
    answer = get(api, trained.publishable_key, placement="next", visitor_id="shopper")
    assert answer["strategy"] == "next_items" and answer["model_version"] == 1
    assert answer["items"][0]["sku"] == "P5"
    assert answer["items"][0]["reason"] == "often next after Step 4"
    assert not {"P2", "P3", "P4"} & {item["sku"] for item in answer["items"]}

    _views(trained.merchant, "shopper", ["P8", "P9"], now + timedelta(minutes=10))
    answer = get(api, trained.publishable_key, placement="next", visitor_id="shopper")
    assert answer["items"][0]["sku"] == "P10"


def test_a_visitor_without_a_session_is_served_by_the_other_models(api, trained):
    answer = get(api, trained.publishable_key, placement="next", visitor_id="stranger")
    assert answer["strategy"] != "next_items" and answer["items"]


def test_a_session_ends_after_a_long_pause(api, trained):
    then = START + timedelta(days=10)
    _views(trained.merchant, "returning", ["P9", "P10", "P11"], then)
    _views(trained.merchant, "returning", ["P1"], then + timedelta(hours=5))
    answer = get(api, trained.publishable_key, placement="next", visitor_id="returning")
    assert answer["items"][0]["sku"] == "P2"
